/**
 * The smallest nft transaction that turns the table in force into the desired one (both as
 * table-model.ts data), in the spirit of Felix's nftables table writer:
 *
 *   1. add new sets (with their members) and new chains (empty), so rules can refer to them
 *   2. set members: delete the removed, then add the new (delete first: an interval set
 *      rejects a new prefix that overlaps one still in it)
 *   3. changed chains: flush, then add their rules again, in order
 *   4. removed chains: flush all of them, then delete them (a rule in one may jump to another)
 *   5. removed sets: delete (every rule that referred to one was flushed in 3 or 4)
 *
 * Everything goes into ONE `nft -j -f` document, so the change is atomic like a full re-create.
 * Pure; the answer is 'full' when a delta cannot express the change (a base chain's hook or a
 * set's type changed) or when it would not be much smaller than re-creating the table.
 * Unchanged parts cost an identity check or a walk over two sorted arrays, never a re-render.
 */
import type { NftCommand } from './json-types.ts';
import { addChain, addRule, addSet, elementOf, type DesiredTable, type TableChain, type TableRule, type TableSet } from '../render/table-model.ts';
import { TABLE } from '../render/naming.ts';
import { rulesKey } from '../render/chain-key.ts';

const family = 'inet' as const;

export interface Delta {
  readonly commands: NftCommand[];
  /** Rules and elements written (what nft works for), to compare with a full re-create. */
  readonly weight: number;
}

/** Above this share of a full re-create's weight, a full re-create is done instead. */
export const FULL_IF_ABOVE = 0.5;

function sameRules(a: readonly TableRule[], b: readonly TableRule[]): boolean {
  return a === b || (a.length === b.length && rulesKey(a) === rulesKey(b));
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Members only in `prev` and only in `next`; both sorted and unique (table-model.ts). The common
 * head and tail are skipped with equality checks first, so a change of a few members costs two
 * cheap walks, and only the window between them is merged with ordering comparisons.
 */
export function memberDiff(prev: readonly string[], next: readonly string[]): { removed: string[]; added: string[] } {
  const removed: string[] = [];
  const added: string[] = [];
  let i = 0;
  let j = 0;
  const min = Math.min(prev.length, next.length);
  while (i < min && prev[i] === next[i]) i++;
  j = i;
  let endA = prev.length;
  let endB = next.length;
  while (endA > i && endB > j && prev[endA - 1] === next[endB - 1]) {
    endA--;
    endB--;
  }
  while (i < endA || j < endB) {
    const a = i < endA ? prev[i] : undefined;
    const b = j < endB ? next[j] : undefined;
    if (b === undefined || (a !== undefined && a < b)) {
      removed.push(a!);
      i++;
    } else if (a === undefined || b < a) {
      added.push(b);
      j++;
    } else {
      i++;
      j++;
    }
  }
  return { removed, added };
}

/** What a full re-create writes, in the same units as Delta.weight. */
function fullWeight(t: DesiredTable): number {
  let n = 0;
  for (const s of t.sets) n += s.members.length + 1;
  for (const c of t.chains) n += c.rules.length + 1;
  return n;
}

const sameBase = (a: TableChain, b: TableChain) => a.base?.hook === b.base?.hook && a.base?.prio === b.base?.prio;
const sameType = (a: TableSet, b: TableSet) => a.kind === b.kind && a.family === b.family;

function elements(op: 'add' | 'delete', s: TableSet, members: readonly string[]): NftCommand {
  const element = { family, table: TABLE, name: s.name, elem: members.map((m) => elementOf(s.kind, m)) };
  return op === 'add' ? { add: { element } } : { delete: { element } };
}

/** Hears how each set's members relate to the ones in force (the stamp updates its digest from this). */
export type MembersSeen = (inForce: readonly string[], next: readonly string[], removed: readonly string[], added: readonly string[]) => void;

export function tableDelta(prev: DesiredTable, next: DesiredTable, fullAbove = FULL_IF_ABOVE, seen?: MembersSeen): Delta | 'full' {
  const oldSets = new Map(prev.sets.map((s) => [s.name, s]));
  const oldChains = new Map(prev.chains.map((c) => [c.name, c]));
  const newSets = new Set<string>();
  const newChains = new Set<string>();
  const create: NftCommand[] = [];
  const members: NftCommand[] = [];
  const rewrite: NftCommand[] = [];
  let weight = 0;

  for (const s of next.sets) {
    newSets.add(s.name);
    const old = oldSets.get(s.name);
    if (!old) {
      create.push(addSet(s));
      weight += s.members.length + 1;
      continue;
    }
    if (!sameType(old, s)) return 'full';
    if (sameMembers(old.members, s.members)) {
      if (old.members !== s.members) seen?.(old.members, s.members, [], []);
      continue;
    }
    const { removed, added } = memberDiff(old.members, s.members);
    seen?.(old.members, s.members, removed, added);
    if (removed.length) members.push(elements('delete', s, removed));
    if (added.length) members.push(elements('add', s, added));
    weight += removed.length + added.length;
  }
  for (const c of next.chains) {
    newChains.add(c.name);
    const old = oldChains.get(c.name);
    if (old && !sameBase(old, c)) return 'full';
    if (!old) {
      // A new base chain takes effect on creation; it is created with its rules in the same transaction anyway.
      create.push(addChain(c));
      weight++;
    } else if (sameRules(old.rules, c.rules)) {
      continue;
    } else {
      rewrite.push({ flush: { chain: { family, table: TABLE, name: c.name } } });
    }
    for (const r of c.rules) rewrite.push(addRule(c.name, r));
    weight += c.rules.length;
  }
  const goneChains = prev.chains.filter((c) => !newChains.has(c.name));
  const goneSets = prev.sets.filter((s) => !newSets.has(s.name));
  const remove: NftCommand[] = [
    ...goneChains.map((c): NftCommand => ({ flush: { chain: { family, table: TABLE, name: c.name } } })),
    ...goneChains.map((c): NftCommand => ({ delete: { chain: { family, table: TABLE, name: c.name } } })),
    ...goneSets.map((s): NftCommand => ({ delete: { set: { family, table: TABLE, name: s.name } } })),
  ];
  weight += goneChains.length + goneSets.length;
  if (weight > fullAbove * fullWeight(next)) return 'full';
  return { commands: [...create, ...members, ...rewrite, ...remove], weight };
}
