/**
 * A HostEndpoint as Felix reads it, before anything else looks at it:
 *
 * - An expectedIPs entry `::ffff:a.b.c.d` is the IPv4 address a.b.c.d (libcalico-go's
 *   lib/net/ip.go: an address with a 4-byte form is IPv4), both for choosing interfaces by
 *   address and for the membership of selector sets.
 * - Duplicate expectedIPs and profiles are accepted by Calico v3.29–v3.31; they are dropped
 *   here, keeping the first position, so a duplicate never changes
 *   evaluation order or the plan.
 *
 * Pure; the node plan runs every HEP through this once, so the membership index, dispatch and
 * endpoint plans all see the same addresses.
 */
import { formatIp, parseCidr } from '../net/cidr.ts';
import type { HostEndpoint } from '../model/host-endpoint.ts';

const V4_MAPPED_PREFIX = 0xffffn << 32n;
const V4_MAPPED_MASK = ~0xffffffffn & ((1n << 128n) - 1n);

/**
 * The address text Felix would use for an expectedIPs entry: an IPv4-mapped IPv6 address (with
 * or without /128) as the bare IPv4 address; anything else unchanged.
 */
export function hostIp(text: string): string {
  const c = parseCidr(text);
  if (!c || c.family !== 6 || c.len !== 128 || (c.addr & V4_MAPPED_MASK) !== V4_MAPPED_PREFIX) return text;
  return formatIp(4, c.addr & 0xffffffffn);
}

/** Identity of an address for de-duplication: equal addresses written differently are one. */
function addressKey(text: string): string {
  const c = parseCidr(text);
  return c ? `${c.family}/${c.addr}/${c.len}` : text;
}

function firstOfEach<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function normaliseHostEndpoint(hep: HostEndpoint): HostEndpoint {
  const { expectedIPs, profiles } = hep.spec;
  if (expectedIPs === undefined && profiles === undefined) return hep;
  const spec = { ...hep.spec };
  if (expectedIPs !== undefined) spec.expectedIPs = firstOfEach(expectedIPs.map(hostIp), addressKey);
  if (profiles !== undefined) spec.profiles = firstOfEach(profiles, (p) => p);
  return { ...hep, spec };
}
