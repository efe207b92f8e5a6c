/**
 * Does one plan rule match one packet? The answer the nft rules render/rule.ts writes for that
 * plan rule would give, worked out on the plan itself: the same family choice, the same
 * per-family filtering of nets (a side whose nets or notNets have none of the packet's family
 * renders no rule for it, so matches nothing), the same OR of numeric and named ports, the same
 * ICMP alternatives. Selector sets are plain CIDR lists here; the renderer's split into host and
 * prefix parts (set-split.ts) does not change what is a member.
 *
 * Pure: CIDR arithmetic only.
 */
import { cidrContains, intervalStringsOf, parseCidr, parseIp } from '../net/cidr.ts';
import type { EntityMatch, Family, IpSetPlan, NodePlan, PlanRule, PortRange, PortSetPlan } from '../plan/schema.ts';
import { ICMP, icmpProtocolOf, portChoices, ruleFamilies, type PortChoice } from '../render/rule-choices.ts';

/** A packet as explain sees it; addresses already parsed. */
export interface PacketFacts {
  readonly family: Family;
  readonly src: bigint;
  readonly dst: bigint;
  readonly protocol: number;
  readonly srcPort?: number | undefined;
  readonly dstPort?: number | undefined;
  readonly icmpType?: number | undefined;
  readonly icmpCode?: number | undefined;
}

/** The plan's sets by id, built once per plan. */
export interface SetLookup {
  readonly ipSets: ReadonlyMap<string, IpSetPlan>;
  readonly portSets: ReadonlyMap<string, PortSetPlan>;
}

export function setLookup(plan: Pick<NodePlan, 'ipSets' | 'portSets'>): SetLookup {
  return { ipSets: new Map(plan.ipSets.map((s) => [s.id, s])), portSets: new Map(plan.portSets.map((s) => [s.id, s])) };
}

/** Per family: prefix length → the networks of that length (host bits cleared). */
type CidrIndex = Record<Family, Map<number, Set<bigint>>>;

/**
 * A list's members parsed once and grouped by prefix length, so a lookup costs one masked probe
 * per length present instead of parsing every member: a relay runs policy tests on every state,
 * and a selector set can hold a 100,000-entry blocklist. Keyed by the list (plan arrays are never
 * changed in place), weakly, so a plan's index goes with the plan.
 */
const indexes = new WeakMap<readonly string[], CidrIndex>();

function indexOf(cidrs: readonly string[]): CidrIndex {
  let idx = indexes.get(cidrs);
  if (idx) return idx;
  idx = { 4: new Map(), 6: new Map() };
  for (const s of cidrs) {
    const c = parseCidr(s);
    if (!c) continue;
    const byLen = idx[c.family];
    let nets = byLen.get(c.len);
    if (!nets) byLen.set(c.len, (nets = new Set()));
    nets.add(c.addr & netMask(c.family, c.len));
  }
  indexes.set(cidrs, idx);
  return idx;
}

const netMask = (family: Family, len: number): bigint => {
  const bits = family === 4 ? 32 : 128;
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - len)) - 1n);
};

export function inCidrs(cidrs: readonly string[], family: Family, addr: bigint): boolean {
  // A list of a few: a scan is cheaper than building an index that is used once.
  if (cidrs.length <= 8) {
    for (const s of cidrs) {
      const c = parseCidr(s);
      if (c && cidrContains(c, { family, addr, len: family === 4 ? 32 : 128 })) return true;
    }
    return false;
  }
  for (const [len, nets] of indexOf(cidrs)[family]) if (nets.has(addr & netMask(family, len))) return true;
  return false;
}

const inRanges = (ranges: readonly PortRange[], port: number | undefined): boolean =>
  port !== undefined && ranges.some(([a, b]) => port >= a && port <= b);

function inPortSet(set: PortSetPlan | undefined, f: Family, addr: bigint, proto: number, port: number | undefined): boolean {
  if (!set || port === undefined) return false;
  for (const [ip, p, n] of f === 4 ? set.v4 : set.v6) {
    if (p !== proto || n !== port) continue;
    const a = parseIp(ip);
    if (a && a.family === f && a.addr === addr) return true;
  }
  return false;
}

function sideMatches(e: EntityMatch, side: 'src' | 'dst', f: Family | undefined, choice: PortChoice, p: PacketFacts, sets: SetLookup): boolean {
  const addr = side === 'src' ? p.src : p.dst;
  const port = side === 'src' ? p.srcPort : p.dstPort;
  if (f !== undefined) {
    const nets = e.nets === undefined ? undefined : intervalStringsOf(e.nets, f);
    const notNets = e.notNets === undefined ? undefined : intervalStringsOf(e.notNets, f);
    // The renderer writes no rule for this family at all then.
    if ((nets && !nets.length) || (notNets && !notNets.length)) return false;
    if (nets && !inCidrs(nets, f, addr)) return false;
    if (notNets && inCidrs(notNets, f, addr)) return false;
    const members = (id: string) => {
      const s = sets.ipSets.get(id);
      return s ? (f === 4 ? s.v4 : s.v6) : [];
    };
    if (e.set !== undefined && !inCidrs(members(e.set), f, addr)) return false;
    if (e.notSet !== undefined && inCidrs(members(e.notSet), f, addr)) return false;
  }
  if (choice.ranges && !inRanges(choice.ranges, port)) return false;
  if (e.notPorts && inRanges(e.notPorts, port)) return false;
  if (f !== undefined) {
    if (choice.named !== undefined && !inPortSet(sets.portSets.get(choice.named), f, addr, p.protocol, port)) return false;
    if (e.notNamedPortSet !== undefined && inPortSet(sets.portSets.get(e.notNamedPortSet), f, addr, p.protocol, port)) return false;
  }
  return true;
}

/** nft's icmp/icmpv6 payload matches carry an implicit protocol dependency: only that protocol's packets match, `!=` too. */
function icmpMatches(rule: PlanRule, proto: number, p: PacketFacts): boolean {
  if (!rule.icmp && !rule.notICMP) return true;
  if (p.protocol !== proto || (proto === ICMP ? p.family !== 4 : p.family !== 6)) return false;
  const type = p.icmpType ?? -1;
  const code = p.icmpCode ?? -1;
  if (rule.icmp && (type !== rule.icmp.type || (rule.icmp.code !== undefined && code !== rule.icmp.code))) return false;
  const not = rule.notICMP;
  if (!not) return true;
  if (not.code === undefined) return type !== not.type;
  return type !== not.type || code !== not.code;
}

/** True when the nft rules rendered for `rule` match the packet (with `ipv6` false nothing IPv6 is rendered). */
export function ruleMatches(rule: PlanRule, p: PacketFacts, sets: SetLookup, ipv6 = true): boolean {
  for (const f of ruleFamilies(rule)) {
    if (f === 6 && !ipv6) continue;
    if (f !== undefined && f !== p.family) continue;
    if (rule.protocol !== undefined && p.protocol !== rule.protocol) continue;
    if (rule.notProtocol !== undefined && p.protocol === rule.notProtocol) continue;
    if (!icmpMatches(rule, icmpProtocolOf(rule, f), p)) continue;
    for (const s of portChoices(rule.src)) {
      for (const d of portChoices(rule.dst)) {
        if (sideMatches(rule.src, 'src', f, s, p, sets) && sideMatches(rule.dst, 'dst', f, d, p, sets)) return true;
      }
    }
  }
  return false;
}
