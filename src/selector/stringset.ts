// Owns the normalisation of set literals (`a in {...}`): sorted in Go's string
// order and de-duplicated, which both the canonical form and selector IDs
// depend on.

/**
 * Compares strings in UTF-8 byte order (Go's `<` on strings), which is code
 * point order. JavaScript's default sort compares UTF-16 code units, which
 * disagrees for characters above U+FFFF versus U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

// Surrogates (U+D800..U+DFFF) encode code points above U+FFFF, so they must
// sort after U+E000..U+FFFF; shift the two ranges past each other.
function rank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

export function sortedUnique(values: readonly string[]): string[] {
  const sorted = [...values].sort(compareCodePoints);
  return sorted.filter((v, i) => i === 0 || v !== sorted[i - 1]);
}
