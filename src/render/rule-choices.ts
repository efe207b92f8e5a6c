/**
 * The choices that decide which nft rules one plan rule becomes: the IP families it is written
 * for, the port alternatives of each side, and which ICMP header its icmp matches read.
 * render/rule.ts writes a rule per choice; explain/rule-match.ts evaluates the same choices on a
 * packet, so the two answer from one definition and cannot drift apart.
 */
import type { EntityMatch, Family, PlanRule, PortRange } from '../plan/schema.ts';

export const ICMP = 1;
export const ICMPV6 = 58;

function usesAddresses(e: EntityMatch): boolean {
  return !!(e.nets || e.notNets || e.set || e.notSet || e.namedPortSet || e.notNamedPortSet);
}

/**
 * The families a rule is written for; undefined = no family match (the rule names no address).
 * `protocol: ICMP`/`ICMPv6` by name arrive with their ipVersion set (calc, as Felix's rule
 * conversion does); by number they apply to both families, unless an ICMP type match pins one.
 */
export function ruleFamilies(rule: PlanRule): (Family | undefined)[] {
  if (rule.ipVersion) return [rule.ipVersion];
  if (rule.protocol === ICMP && (rule.icmp || rule.notICMP)) return [4];
  if (rule.protocol === ICMPV6 && (rule.icmp || rule.notICMP)) return [6];
  if (!usesAddresses(rule.src) && !usesAddresses(rule.dst)) return [undefined];
  return [4, 6];
}

/**
 * One port alternative of a side: its numeric list, or its named-port set. One nft rule cannot OR
 * the two, so a side with both is two alternatives (the rule is written once for each).
 */
export type PortChoice = { ranges?: readonly PortRange[]; named?: string };
export function portChoices(e: EntityMatch): PortChoice[] {
  const out: PortChoice[] = [];
  if (e.ports) out.push({ ranges: e.ports });
  if (e.namedPortSet) out.push({ named: e.namedPortSet });
  return out.length ? out : [{}];
}

/** The protocol whose header the rule's icmp/notICMP matches read, in family `f`. */
export const icmpProtocolOf = (rule: PlanRule, f: Family | undefined): typeof ICMP | typeof ICMPV6 =>
  rule.protocol === ICMPV6 || (rule.protocol !== ICMP && f === 6) ? ICMPV6 : ICMP;
