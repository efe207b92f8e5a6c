/**
 * The stamp: one element of the set `stamp` in our table whose comment is a digest of the whole
 * desired table. Every transaction the table writer sends ends by writing it, so
 *
 * - after a commit, `nft -j list set inet outpost stamp` (a few ms whatever the table's size:
 *   nft 1.0.6 fetches only that set) proves the kernel holds the table this transaction left,
 *   instead of listing the whole table (0.7 s at 12,000 rules);
 * - drift-watch.ts tells our own transactions from anyone else's by the stamp line in the
 *   `nft monitor` output.
 *
 * The digest is computed from per-set and per-chain digests, remembered per members/rules array.
 * A set's digest is a sum of per-member hashes (order-free), so a one-member change updates it
 * from the digest in force with that member's hash alone, whatever the set's size. Not a
 * security property: the stamp proves which of our transactions the kernel holds.
 */
import { createHash } from 'node:crypto';
import type { NftCommand } from './json-types.ts';
import type { DesiredTable, TableRule } from '../render/table-model.ts';
import { TABLE } from '../render/naming.ts';
import { rulesKey } from '../render/chain-key.ts';

export const STAMP_SET = 'stamp';
const family = 'inet' as const;


// Two independent 32-bit member hashes, summed per set: 64 bits of digest, updatable per member.
type SetSum = readonly [number, number, number];
const sums = new WeakMap<readonly string[], SetSum>();

function addTo(sum: SetSum, members: readonly string[], sign: 1 | -1): SetSum {
  let [a, b, n] = sum;
  for (const m of members) {
    a = (a + sign * Bun.hash.crc32(m)) >>> 0;
    b = (b + sign * Bun.hash.murmur32v3(m)) >>> 0;
  }
  return [a, b, n + sign * members.length];
}

function setSum(m: readonly string[]): SetSum {
  let s = sums.get(m);
  if (s === undefined) {
    s = addTo([0, 0, 0], m, 1);
    sums.set(m, s);
  }
  return s;
}

const membersDigest = (m: readonly string[]): string => setSum(m).join(':');

/** A chain's digest: its key (chain-key.ts, a SHA-256 of its rules, computed once per rules array). */
const rulesDigest = (r: readonly TableRule[]): string => rulesKey(r);

/** The delta found `next` to be `inForce` minus `removed` plus `added`: derive its digest from the one in force. */
export function carryDigest(inForce: readonly string[], next: readonly string[], removed: readonly string[], added: readonly string[]): void {
  const known = sums.get(inForce);
  if (known === undefined || sums.has(next)) return;
  sums.set(next, addTo(addTo(known, removed, -1), added, 1));
}

/** The table's digest (hex, 64 characters). */
export function tableStamp(t: DesiredTable): string {
  const h = createHash('sha256');
  for (const s of t.sets) h.update(`set ${s.name} ${s.kind} ${s.family} ${membersDigest(s.members)}\n`);
  for (const c of t.chains) h.update(`chain ${c.name} ${c.base ? `${c.base.hook} ${c.base.prio}` : '-'} ${rulesDigest(c.rules)}\n`);
  return h.digest('hex');
}

/** Generation n as the stamp element's value (an IPv4 address is the cheapest key nft has). */
function generationValue(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
const valueGeneration = (v: string): number => v.split('.').reduce((n, b) => n * 256 + Number(b), 0);

const stampElem = (generation: number, stamp: string) => ({ elem: { val: generationValue(generation), comment: stamp } });
const stampRef = { family, table: TABLE, name: STAMP_SET };

/** In a full re-create: the stamp set with generation 1. */
export function createStamp(stamp: string): NftCommand {
  return { add: { set: { ...stampRef, type: 'ipv4_addr', elem: [stampElem(1, stamp)] } } };
}

/**
 * In a delta: the next generation's element. Adding is all a small delta pays for (a delete or
 * flush makes nft 1.0.6 fetch much more of the table: measured 10 vs 22 ms), so older elements
 * are deleted only together with a transaction that deletes anyway, or once there are many.
 */
export function nextStamp(generation: number, stamp: string, dropOld: readonly number[]): NftCommand[] {
  const out: NftCommand[] = [];
  if (dropOld.length) out.push({ delete: { element: { ...stampRef, elem: dropOld.map(generationValue) } } });
  out.push({ add: { element: { ...stampRef, elem: [stampElem(generation, stamp)] } } });
  return out;
}

/** The stamp (comment of the newest generation) in a listing of the stamp set, or undefined. */
export function stampOf(listing: unknown): string | undefined {
  const items = (listing as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(items)) return undefined;
  for (const item of items) {
    const set = (item as { set?: { name?: unknown; elem?: unknown } } | null)?.set;
    if (set?.name !== STAMP_SET || !Array.isArray(set.elem)) continue;
    let best: { gen: number; comment: unknown } | undefined;
    for (const e of set.elem) {
      const el = (e as { elem?: { val?: unknown; comment?: unknown } } | null)?.elem;
      if (typeof el?.val !== 'string') continue;
      const gen = valueGeneration(el.val);
      if (!best || gen > best.gen) best = { gen, comment: el.comment };
    }
    return typeof best?.comment === 'string' ? best.comment : undefined;
  }
  return undefined;
}

const MONITOR_LINE = new RegExp(`^add element inet ${TABLE} ${STAMP_SET} \\{ [0-9.]+ comment "([0-9a-f]{64})" \\}$`);

/** The stamp an `nft monitor` line shows being written, if it is a stamp line. */
export function stampInMonitorLine(line: string): string | undefined {
  return MONITOR_LINE.exec(line)?.[1];
}
