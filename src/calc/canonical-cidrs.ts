/**
 * A member's addresses as the canonical CIDR strings the plan carries, computed without parsing
 * the common case: a GlobalNetworkSet of 100,000 "a.b.c.d/32" entries is a string walk (a few ms),
 * not 100,000 parses into bigints and back (≈400 ms per plan on this machine, measured).
 * Anything else goes through the CIDR parser once and the result is remembered.
 */
import { formatCidr, parseCidr } from '../net/cidr.ts';
import { firstNotBelow, isCanonicalV4Host, isKnownV4HostList, markV4HostList, sortedUnique } from '../net/host-lists.ts';

type Parsed = { family: 4 | 6; text: string } | null;
const slow = new Map<string, Parsed>();
const SLOW_CACHE_MAX = 250_000;

function parsed(text: string, hostRoute: boolean): Parsed {
  const key = hostRoute ? `h|${text}` : text;
  const hit = slow.get(key);
  if (hit !== undefined) return hit;
  const c = parseCidr(text);
  const out: Parsed = c ? { family: c.family, text: formatCidr(hostRoute ? { ...c, len: c.family === 4 ? 32 : 128 } : c) } : null;
  if (slow.size >= SLOW_CACHE_MAX) slow.clear();
  slow.set(key, out);
  return out;
}

/**
 * The canonical CIDR strings of `texts` by family, each sorted and unique: exactly
 * formatCidr(parseCidr(t)) (with the length of a host route when `hostRoutes`), unparseable
 * entries dropped.
 */
export function canonicalCidrs(texts: readonly string[], hostRoutes: boolean, key?: string): { v4: readonly string[]; v6: readonly string[] } {
  const prev = key !== undefined && texts.length >= EDIT_MIN ? edits.get(key) : undefined;
  const edited = prev && editedHosts(prev, texts);
  const out = edited ? { v4: edited, v6: [] } : fromScratch(texts, hostRoutes);
  if (key !== undefined && texts.length >= EDIT_MIN) {
    // Only an all-hosts, duplicate-free list is edited in place next time.
    if (out.v6.length === 0 && isKnownV4HostList(out.v4) && out.v4.length === texts.length) {
      if (edits.size >= EDIT_KEYS_MAX) edits.clear();
      edits.set(key, { raw: texts, sorted: out.v4 });
    } else edits.delete(key);
  }
  return out;
}

/**
 * A big list edited in place (one member added or removed: the datastore's usual change) is
 * re-sorted from its previous version instead of from scratch: one walk comparing the two raw
 * lists from both ends, then a binary-search splice per changed entry. Sorting 100,000 addresses
 * again measured ~11 ms here, the walk ~1 ms.
 */
const EDIT_MIN = 1024;
const EDIT_MAX_CHANGED = 64;
const EDIT_KEYS_MAX = 4096;
const edits = new Map<string, { raw: readonly string[]; sorted: readonly string[] }>();


/** `texts` sorted as an edit of `prev.raw` (all canonical hosts, no duplicates), or undefined. */
function editedHosts(prev: { raw: readonly string[]; sorted: readonly string[] }, texts: readonly string[]): readonly string[] | undefined {
  const old = prev.raw;
  if (old === texts) return prev.sorted;
  const n = Math.min(old.length, texts.length);
  let head = 0;
  while (head < n && old[head] === texts[head]) head++;
  let tail = 0;
  while (tail < n - head && old[old.length - 1 - tail] === texts[texts.length - 1 - tail]) tail++;
  const removed = old.slice(head, old.length - tail);
  const added = texts.slice(head, texts.length - tail);
  if (removed.length > EDIT_MAX_CHANGED || added.length > EDIT_MAX_CHANGED || !added.every(isCanonicalV4Host)) return undefined;
  const out = prev.sorted.slice();
  for (const r of removed) {
    const at = firstNotBelow(out, r);
    if (out[at] !== r) return undefined;
    out.splice(at, 1);
  }
  for (const a of added) {
    const at = firstNotBelow(out, a);
    // A duplicate: the list is no longer duplicate-free, so the caller's from-scratch path decides.
    if (out[at] === a) return undefined;
    out.splice(at, 0, a);
  }
  markV4HostList(out);
  return out;
}

function fromScratch(texts: readonly string[], hostRoutes: boolean): { v4: readonly string[]; v6: readonly string[] } {
  let i = 0;
  while (i < texts.length && isCanonicalV4Host(texts[i]!)) i++;
  if (i === texts.length) {
    const v4 = sortedUnique(texts);
    markV4HostList(v4);
    return { v4, v6: [] };
  }
  const v4: string[] = texts.slice(0, i);
  const v6: string[] = [];
  let hostsOnly = true;
  for (; i < texts.length; i++) {
    const t = texts[i]!;
    if (isCanonicalV4Host(t)) {
      v4.push(t);
      continue;
    }
    const p = parsed(t, hostRoutes);
    if (!p) continue;
    if (p.family === 4) {
      v4.push(p.text);
      hostsOnly &&= isCanonicalV4Host(p.text);
    } else v6.push(p.text);
  }
  const out4 = sortedUnique(v4);
  if (hostsOnly) markV4HostList(out4);
  return { v4: out4, v6: sortedUnique(v6) };
}

/** The sorted union of sorted, unique lists: the one list itself when there is only one. */
export function unionSorted(parts: readonly (readonly string[])[]): readonly string[] {
  if (parts.length === 0) return [];
  if (parts.length === 1) return parts[0]!;
  const out = sortedUnique(parts.flat());
  if (parts.every(isKnownV4HostList)) markV4HostList(out);
  return out;
}
