/**
 * A selector set's CIDRs split into single addresses (a hash set: adding or removing one is O(1)
 * in nft 1.0.6) and wider prefixes (an interval set: nft fetches the whole set to change one
 * element, so only prefixes go there, usually few). Both lists come back sorted and unique in
 * string order, which is what the table writer's element diff walks.
 *
 * Canonical IPv4 host routes ("a.b.c.d/32", what the relay sends) are recognised by a regular
 * expression and never parsed; anything else goes through the CIDR parser once and the result
 * is remembered, so a set of 100,000 addresses costs a string walk per render, not 100,000
 * parses; a list the plan computation already knows to be canonical hosts, or one split before,
 * costs nothing. Members of the wrong family or that do not parse are dropped, as before.
 */
import { formatCidr, intervalStrings, parseCidr } from '../net/cidr.ts';
import { isCanonicalV4Host, isKnownV4HostList, markV4HostList, sortedUnique } from '../net/host-lists.ts';

export { isCanonicalV4Host, sortedUnique };

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

/**
 * Hosts are kept in CIDR form ("198.18.0.1/32", "fd00::1/128"; table-model.ts strips the length
 * when it writes the element), so a set of canonical IPv4 hosts, what the relay sends, is used
 * as it is: one walk to check it, no copy.
 */
type Split = { hosts: readonly string[]; prefixes: readonly string[] };
const splits: [WeakMap<readonly string[], Split>, WeakMap<readonly string[], Split>] = [new WeakMap(), new WeakMap()];
const NO_PREFIXES: readonly string[] = [];

export function splitMembers(cidrs: readonly string[], family: 4 | 6): Split {
  // A list the plan computation built from canonical hosts (calc/canonical-cidrs.ts), or one split
  // before (the same array again: an unchanged set on a re-render), costs nothing here.
  if (family === 4 && isKnownV4HostList(cidrs)) return { hosts: cidrs, prefixes: NO_PREFIXES };
  const memo = splits[family === 4 ? 0 : 1];
  const hit = memo.get(cidrs);
  if (hit) return hit;
  const out = split(cidrs, family);
  memo.set(cidrs, out);
  return out;
}

function split(cidrs: readonly string[], family: 4 | 6): Split {
  if (family === 4 && cidrs.every(isCanonicalV4Host)) {
    const hosts = sortedUnique(cidrs);
    // Known from now on: a decoded plan's list spliced from this one stays known (plan-splice.ts).
    markV4HostList(hosts);
    return { hosts, prefixes: NO_PREFIXES };
  }
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
