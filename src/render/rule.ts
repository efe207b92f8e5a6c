/**
 * One plan rule → one or more nft rules (felix/rules/policy.go).
 *
 * - Rendered per IP family when it matches addresses: an explicit ipVersion keeps one family;
 *   nets are filtered to the family and a field that becomes empty drops that family.
 * - Numeric ports and named ports in one list are ORed; one nft rule cannot OR a port set with
 *   an (addr . proto . port) set, so such a rule is split in two with the same verdict.
 * - protocol ICMP/ICMPv6 by name render for their own family only (the plan rule carries the
 *   ipVersion, set in calc as Felix does); by number, for both.
 * - icmp {type, code} is two matches, not a concatenation (nft 1.0.6 rejects that); notICMP
 *   with a code is split into two disjoint rules (icmpAlternatives).
 * - Verdicts: Allow/Pass set their mark bit and return to the endpoint chain (which decides);
 *   Deny drops at once; Log logs and falls through.
 * - Short lists become no nft set: positive ones one rule per element (EXPAND_LIMIT), negated
 *   ones chained "!=" matches (CHAIN_NEGATION_LIMIT); the kernel pays dearly for every set.
 */
import type { NftExpr } from '../nft/json-types.ts';
import type { EntityMatch, Family, PlanRule } from '../plan/schema.ts';
import { intervalStringsOf } from '../net/cidr.ts';
import * as x from './expr.ts';
import { setName } from './naming.ts';
import { ICMPV6, icmpProtocolOf, portChoices, ruleFamilies, type PortChoice } from './rule-choices.ts';

/**
 * The ICMP matches as alternatives (each an AND of expressions, the rule rendered once per
 * alternative). notICMP {type, code} means !(type == T && code == C), which one nft rule cannot
 * say; it becomes two disjoint alternatives, "type != T" and "type == T, code != C", so a
 * packet matches at most one of them and even a Log rule acts once.
 */
function icmpAlternatives(rule: PlanRule, proto: 'icmp' | 'icmpv6'): NftExpr[][] {
  const positive = rule.icmp ? x.icmpMatch(proto, rule.icmp, '==') : [];
  const not = rule.notICMP;
  if (!not) return [positive];
  if (not.code === undefined) return [[...positive, ...x.icmpMatch(proto, not, '!=')]];
  return [
    [...positive, x.icmpField(proto, 'type', not.type, '!=')],
    [...positive, x.icmpField(proto, 'type', not.type, '=='), x.icmpField(proto, 'code', not.code, '!=')],
  ];
}

/** The family's nets as non-overlapping interval members (anonymous sets reject overlap too). */
const onlyFamily = (nets: readonly string[] | undefined, f: Family): string[] | undefined =>
  nets === undefined ? undefined : intervalStringsOf(nets, f);

/**
 * Alternatives written as separate rules with bare values rather than one rule with an anonymous
 * set, up to this many rules per plan rule (per family and port choice). Every nft set, anonymous
 * or named, costs the kernel far more than a rule, and more the more sets the table holds: on
 * Linux 6.18, 2,000 rules with two two-element anonymous sets each take 2.6 s to load, 4,000 take
 * 20 s, while the same matches as 16,000 plain rules load in under a second (docs/benchmarks.md,
 * "nft input"). Longer lists keep their set: a packet then costs one lookup, not a rule walk.
 */
export const EXPAND_LIMIT = 8;
/** Negated lists up to this long are chained "!=" matches in one rule (no set, no extra rule). */
export const CHAIN_NEGATION_LIMIT = 8;

/** One place of a rule's match list: a fixed expression, or a positive list still to be expanded or made a set. */
type Slot = NftExpr | { readonly alternatives: { readonly left: NftExpr; readonly elems: readonly unknown[] } };
const isDim = (s: Slot): s is Extract<Slot, { alternatives: unknown }> => typeof s === 'object' && s !== null && 'alternatives' in s;

/** Positive list: a dimension for expandSlots; negated: chained "!=" matches, or an anonymous set when long. */
function listSlots(left: NftExpr, elems: readonly unknown[], op: '==' | '!='): Slot[] {
  if (op === '==') return elems.length === 1 ? [x.elemMatch(left, elems[0])] : [{ alternatives: { left, elems } }];
  if (elems.length <= CHAIN_NEGATION_LIMIT) return elems.map((e) => x.elemMatch(left, e, '!='));
  return [x.elemMatch(left, x.anon(elems), '!=')];
}

function sideSlots(e: EntityMatch, side: 'src' | 'dst', f: Family | undefined, choice: PortChoice): Slot[] | null {
  const out: Slot[] = [];
  const addr = side === 'src' ? 'saddr' : 'daddr';
  const port = side === 'src' ? 'sport' : 'dport';
  if (f !== undefined) {
    const nets = onlyFamily(e.nets, f);
    const notNets = onlyFamily(e.notNets, f);
    if ((e.nets && !nets?.length) || (e.notNets && !notNets?.length)) return null;
    if (nets?.length) out.push(...listSlots(x.addrOf(f, addr), nets.map(x.prefixElem), '=='));
    if (notNets?.length) out.push(...listSlots(x.addrOf(f, addr), notNets.map(x.prefixElem), '!='));
    if (e.set) out.push(x.setMatch(x.addrOf(f, addr), setName(e.set, f)));
    if (e.notSet) out.push(x.setMatch(x.addrOf(f, addr), setName(e.notSet, f), '!='));
  }
  if (choice.ranges) out.push(...listSlots(x.portOf(port), x.portElems(choice.ranges), '=='));
  if (e.notPorts) out.push(...listSlots(x.portOf(port), x.portElems(e.notPorts), '!='));
  if (f !== undefined) {
    if (choice.named) out.push(x.setMatch(x.namedPortKey(f, side), setName(choice.named, f)));
    if (e.notNamedPortSet) out.push(x.setMatch(x.namedPortKey(f, side), setName(e.notNamedPortSet, f), '!='));
  }
  return out;
}

/**
 * The match lists one rule's slots stand for: the shortest positive lists are expanded into
 * separate rules while their product stays within EXPAND_LIMIT, the rest stay anonymous sets.
 * The alternatives are disjoint (nets are non-overlapping interval members, port ranges are
 * merged), so a packet matches at most one of them and even a Log rule acts once.
 */
function expandSlots(slots: readonly Slot[]): NftExpr[][] {
  if (!slots.some(isDim)) return [slots as NftExpr[]];
  const dims = slots.filter(isDim).map((s) => s.alternatives);
  const expand = new Set<object>();
  let product = 1;
  for (const d of [...dims].sort((a, b) => a.elems.length - b.elems.length)) {
    if (product * d.elems.length > EXPAND_LIMIT) break;
    product *= d.elems.length;
    expand.add(d);
  }
  let out: NftExpr[][] = [[]];
  for (const s of slots) {
    if (!isDim(s)) {
      for (const r of out) r.push(s);
      continue;
    }
    const d = s.alternatives;
    if (!expand.has(d)) {
      for (const r of out) r.push(x.elemMatch(d.left, x.anon(d.elems)));
      continue;
    }
    out = out.flatMap((r) => d.elems.map((e) => [...r, x.elemMatch(d.left, e)]));
  }
  return out;
}

function verdict(rule: PlanRule, marks: x.Marks, logPrefix: string): NftExpr[] {
  switch (rule.action) {
    case 'Allow': return [x.setMark(marks.accept), x.ret];
    case 'Pass': return [x.setMark(marks.pass), x.ret];
    case 'Deny': return [x.drop];
    case 'Log': return [x.log(logPrefix)];
  }
}

/**
 * The nft rules (expression lists) for one plan rule, in order. With `ipv6: false` nothing is
 * rendered for IPv6 (FelixConfiguration ipv6Support: false; the base chains let IPv6 through).
 */
export function renderRule(rule: PlanRule, marks: x.Marks, logPrefix: string, ipv6 = true): NftExpr[][] {
  return renderMatches(rule, [x.counter, ...verdict(rule, marks, logPrefix)], ipv6);
}

/**
 * The same rules with `tail` (counter and verdict statements) after each rule's matches: the
 * match lists are renderRule's, so a staged rule (staged-chains.ts) matches exactly the packets
 * the same rule would match if it were enforced.
 */
export function renderMatches(rule: PlanRule, tail: readonly NftExpr[], ipv6 = true): NftExpr[][] {
  const out: NftExpr[][] = [];
  for (const f of ruleFamilies(rule)) {
    if (f === 6 && !ipv6) continue;
    for (const srcChoice of portChoices(rule.src)) {
      for (const dstChoice of portChoices(rule.dst)) {
        const src = sideSlots(rule.src, 'src', f, srcChoice);
        const dst = sideSlots(rule.dst, 'dst', f, dstChoice);
        if (!src || !dst) continue;
        const head: NftExpr[] = [];
        if (f !== undefined) head.push(x.nfproto(f));
        if (rule.protocol !== undefined) head.push(x.l4proto(rule.protocol));
        if (rule.notProtocol !== undefined) head.push(x.l4proto(rule.notProtocol, '!='));
        const icmpProto = icmpProtocolOf(rule, f) === ICMPV6 ? 'icmpv6' : 'icmp';
        for (const matches of expandSlots([...src, ...dst])) {
          for (const icmp of icmpAlternatives(rule, icmpProto)) out.push([...head, ...matches, ...icmp, ...tail]);
        }
      }
    }
  }
  return out;
}
