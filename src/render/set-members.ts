/**
 * A selector set's CIDRs split into single addresses (a hash set: adding or removing one is O(1)
 * in nft 1.0.6) and wider prefixes (an interval set: nft fetches the whole set to change one
 * element, so only prefixes go there, usually few). Both lists come back sorted and unique in
 * string order, which is what the table writer's element diff walks.
 *
 * Canonical IPv4 host routes ("a.b.c.d/32", what the relay sends) are recognised by a regular
 * expression and never parsed; anything else goes through the CIDR parser once and the result
 * is remembered, so a set of 100,000 addresses costs a string walk per render, not 100,000
 * parses. Members of the wrong family or that do not parse are dropped, as before.
 */
import { formatCidr, intervalStrings, parseCidr } from '../net/cidr.ts';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const V4_HOST = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}/32$`);

type Canon = { host: string } | { prefix: string } | null;
const slow = new Map<string, Canon>();
const SLOW_CACHE_MAX = 250_000;

function canonical(cidr: string, family: 4 | 6): Canon {
  if (family === 4 && V4_HOST.test(cidr)) return { host: cidr.slice(0, -3) };
  const key = `${family}|${cidr}`;
  const hit = slow.get(key);
  if (hit !== undefined) return hit;
  const c = parseCidr(cidr);
  let out: Canon = null;
  if (c && c.family === family) {
    const text = formatCidr(c);
    const full = family === 4 ? 32 : 128;
    out = c.len === full ? { host: text.slice(0, text.lastIndexOf('/')) } : { prefix: text };
  }
  if (slow.size >= SLOW_CACHE_MAX) slow.clear();
  slow.set(key, out);
  return out;
}

/** Sorted and de-duplicated; O(n) when already sorted (the usual case). */
export function sortedUnique(list: string[]): string[] {
  let sorted = true;
  for (let i = 1; i < list.length; i++) {
    if (list[i - 1]! >= list[i]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) return list;
  list.sort();
  return list.filter((m, i) => i === 0 || m !== list[i - 1]);
}

export function splitMembers(cidrs: readonly string[], family: 4 | 6): { hosts: string[]; prefixes: string[] } {
  const hosts: string[] = [];
  const wide: string[] = [];
  for (const cidr of cidrs) {
    const c = canonical(cidr, family);
    if (!c) continue;
    if ('host' in c) hosts.push(c.host);
    else wide.push(c.prefix);
  }
  // Interval sets reject overlapping elements: keep only the broadest of overlapping prefixes.
  // A host that a prefix also covers stays in the hash set; either match is the same match.
  const prefixes = wide.length ? intervalStrings(wide, family).sort() : wide;
  return { hosts: sortedUnique(hosts), prefixes };
}
