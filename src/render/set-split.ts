/**
 * A selector set is two nft sets per family (set-members.ts): `<id>-<f>` holds single addresses
 * (hash), `<id>-<f>p` the wider prefixes (interval). rule.ts renders a selector match as one
 * `@<id>-<f>` reference; this module rewrites such a rule for the two sets:
 *
 * - `addr in S`: the rule once per NON-EMPTY part (an empty part could never match, so it is
 *   left out; both parts empty: no rule, exactly what a match against an empty set did). Allow,
 *   Deny and Pass end the policy chain on the first match, so two copies act once. A Log rule
 *   (or any rule that ends in no verdict, such as a staged Log count) does not end it, so its
 *   prefix copy also requires `addr not in <hosts>`: the copies are
 *   disjoint and a packet is logged once. Counters split across the copies.
 * - `addr not in S`: one rule, a `!=` match for each non-empty part (AND), none when both are
 *   empty (then nothing is excluded).
 * - Several references in one rule (source and destination sets): the cartesian product.
 *
 * So a membership change only touches chains when a part turns empty or non-empty; otherwise it
 * is a pure element add/delete.
 */
import type { NftExpr } from '../nft/json-types.ts';
import type { TableRule } from './table-model.ts';

export interface SplitSet {
  readonly hosts: string;
  readonly prefixes: string;
  readonly hasHosts: boolean;
  readonly hasPrefixes: boolean;
}

/** nft set name as written in a rule (`@name`) → its two parts. */
export type SplitIndex = ReadonlyMap<string, SplitSet>;

interface SetRef { match: { op: string; left: NftExpr; right: string } }

function refOf(e: NftExpr, index: SplitIndex): [SetRef['match'], SplitSet] | undefined {
  const m = (e as Partial<SetRef>).match;
  if (!m || typeof m.right !== 'string' || m.right[0] !== '@') return undefined;
  const s = index.get(m.right.slice(1));
  return s ? [m, s] : undefined;
}

/** True when any expression refers to a split set (the rule then depends on which parts are empty). */
export function refersToSplit(rule: TableRule, index: SplitIndex): boolean {
  return rule.expr.some((e) => refOf(e, index) !== undefined);
}

const ref = (m: SetRef['match'], name: string, op: string): NftExpr => ({ match: { op, left: m.left, right: `@${name}` } });

/** Which parts' emptiness a rule's rendering depends on, as a short key for caches. */
export function emptinessKey(rules: readonly TableRule[], index: SplitIndex): string {
  let key = '';
  for (const r of rules) {
    for (const e of r.expr) {
      const hit = refOf(e, index);
      if (hit) key += `${hit[1].hosts}:${hit[1].hasHosts ? 1 : 0}${hit[1].hasPrefixes ? 1 : 0};`;
    }
  }
  return key;
}

/** Statements that end a rule's part in the chain walk; a rule ending otherwise (Log, a staged count) falls through. */
const ENDS = ['accept', 'drop', 'return', 'jump', 'goto'];

export function expandRule(rule: TableRule, index: SplitIndex): TableRule[] {
  if (!refersToSplit(rule, index)) return [rule];
  const last = rule.expr[rule.expr.length - 1];
  const isLog = last === undefined || !ENDS.some((k) => k in last);
  let variants: NftExpr[][] = [[]];
  for (const e of rule.expr) {
    const hit = refOf(e, index);
    if (!hit) {
      for (const v of variants) v.push(e);
      continue;
    }
    const [m, s] = hit;
    if (m.op === '!=') {
      const extra = [...(s.hasHosts ? [ref(m, s.hosts, '!=')] : []), ...(s.hasPrefixes ? [ref(m, s.prefixes, '!=')] : [])];
      for (const v of variants) v.push(...extra);
      continue;
    }
    const choices: NftExpr[][] = [];
    if (s.hasHosts) choices.push([ref(m, s.hosts, m.op)]);
    if (s.hasPrefixes) choices.push(isLog && s.hasHosts ? [ref(m, s.prefixes, m.op), ref(m, s.hosts, '!=')] : [ref(m, s.prefixes, m.op)]);
    variants = variants.flatMap((v) => choices.map((c) => [...v, ...c]));
  }
  return variants.map((expr) => (rule.comment === undefined ? { expr } : { expr, comment: rule.comment }));
}

export function expandRules(rules: readonly TableRule[], index: SplitIndex): readonly TableRule[] {
  if (!rules.some((r) => refersToSplit(r, index))) return rules;
  return rules.flatMap((r) => expandRule(r, index));
}
