/**
 * Lists of canonical address strings, handled without parsing them: the common case of a big
 * selector set is 100,000 "a.b.c.d/32" entries, and a string walk over them costs a few ms where
 * parsing each into bigints and back costs hundreds.
 *
 * Arrays known to hold only canonical IPv4 host routes (sorted, unique) are remembered by
 * identity, so the plan computation (calc/), the relay-mode decoder (protocol/plan-splice.ts) and
 * the renderer's set split (render/set-members.ts) check a list once between them.
 */
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

/**
 * Arrays known to hold only canonical IPv4 host routes, sorted and unique (string order): the
 * renderer's set split (render/set-members.ts) takes them as they are, without walking them again.
 */
const knownHosts = new WeakSet<readonly string[]>();
export const isKnownV4HostList = (list: readonly string[]): boolean => knownHosts.has(list);

/** Records that `list` was checked: canonical IPv4 host routes only, strictly increasing. */
export function markV4HostList(list: readonly string[]): void {
  knownHosts.add(list);
}

/**
 * `next` is `prev` (a known host list) with the run prev[from..to) replaced by `run`, and the
 * caller checked `next` is strictly increasing: it is a known host list when `run` is all hosts.
 * The relay-mode decoder's member splice uses this, so the renderer does not walk the list again.
 */
export function markSplicedV4HostList(prev: readonly string[], run: readonly string[], next: readonly string[]): void {
  if (knownHosts.has(prev) && run.every(isCanonicalV4Host)) knownHosts.add(next);
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


/** First index whose member is ≥ x in string order (the list is strictly increasing). */
export function firstNotBelow(list: readonly string[], x: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
