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

/** True for canonical "a.b.c.d/32" (no leading zeros, each octet ≤ 255): a char walk, no parse. */
export function isCanonicalV4Host(s: string): boolean {
  const n = s.length;
  if (n < 10 || n > 18 || s.charCodeAt(n - 3) !== 47 || s.charCodeAt(n - 2) !== 51 || s.charCodeAt(n - 1) !== 50) return false;
  let octets = 0;
  let i = 0;
  const end = n - 3;
  while (i < end) {
    const start = i;
    let v = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && s.charCodeAt(start) === 48)) return false;
    octets++;
    if (i === end) break;
    if (s.charCodeAt(i) !== 46 || octets === 4) return false;
    i++;
  }
  return octets === 4 && i === end;
}

type Canon = { host: string } | { prefix: string } | null;
const slow = new Map<string, Canon>();
const SLOW_CACHE_MAX = 250_000;

function canonical(cidr: string, family: 4 | 6): Canon {
  if (family === 4 && isCanonicalV4Host(cidr)) return { host: cidr };
  const key = `${family}|${cidr}`;
  const hit = slow.get(key);
  if (hit !== undefined) return hit;
  const c = parseCidr(cidr);
  let out: Canon = null;
  if (c && c.family === family) {
    const text = formatCidr(c);
    const full = family === 4 ? 32 : 128;
    out = c.len === full ? { host: text } : { prefix: text };
  }
  if (slow.size >= SLOW_CACHE_MAX) slow.clear();
  slow.set(key, out);
  return out;
}

/** Sorted and de-duplicated: the same array when it already is (the usual case), else a sorted copy. */
export function sortedUnique(list: readonly string[]): readonly string[] {
  let sorted = true;
  for (let i = 1; i < list.length; i++) {
    if (list[i - 1]! >= list[i]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) return list;
  const copy = [...list].sort();
  return copy.filter((m, i) => i === 0 || m !== copy[i - 1]);
}

/**
 * Hosts are kept in CIDR form ("198.18.0.1/32", "fd00::1/128"; table-model.ts strips the length
 * when it writes the element), so a set of canonical IPv4 hosts, what the relay sends, is used
 * as it is: one walk to check it, no copy.
 */
export function splitMembers(cidrs: readonly string[], family: 4 | 6): { hosts: readonly string[]; prefixes: readonly string[] } {
  if (family === 4 && cidrs.every(isCanonicalV4Host)) return { hosts: sortedUnique(cidrs), prefixes: [] };
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
