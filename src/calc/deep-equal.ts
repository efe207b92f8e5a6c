/**
 * Structural equality of JSON-like values (objects, arrays, strings, numbers, booleans, null),
 * key order ignored, with a shortcut for shared references. The relay uses it to tell whether a
 * recomputed plan or a re-read resource really changed, without serialising either: plans share
 * their set objects, so most comparisons stop at the first reference check.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  // An absent key and one set to undefined are the same to JSON (and to the canonical encoding).
  let na = 0;
  for (const k in ra) {
    if (ra[k] === undefined) continue;
    na++;
    if (!deepEqual(ra[k], rb[k])) return false;
  }
  let nb = 0;
  for (const k in rb) if (rb[k] !== undefined) nb++;
  return na === nb;
}
