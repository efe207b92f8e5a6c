import { describe, expect, test } from 'bun:test';
import { canonicalCidrs } from '../../../src/calc/canonical-cidrs.ts';
import { isKnownV4HostList } from '../../../src/net/host-lists.ts';
import { formatCidr, parseCidr } from '../../../src/net/cidr.ts';

/** The reference: parse every entry, format it, de-duplicate, sort (what the plan carried before). */
function reference(texts: readonly string[], hostRoutes: boolean) {
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  for (const t of texts) {
    const c = parseCidr(t);
    if (!c) continue;
    const text = formatCidr(hostRoutes ? { ...c, len: c.family === 4 ? 32 : 128 } : c);
    (c.family === 4 ? v4 : v6).add(text);
  }
  return { v4: [...v4].sort(), v6: [...v6].sort() };
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const host = (r: () => number) => `198.${18 + Math.floor(r() * 2)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}/32`;
const odd = ['10.0.0.1/24', '010.0.0.1/32', 'fd00::1/128', 'fd00::/8', '1.2.3.4', 'not-an-ip', '255.255.255.255/32', '0.0.0.0/0', '1.2.3.4/32 ', ''];

describe('canonical member addresses', () => {
  test('match parse-and-format for hosts, prefixes, bare addresses, junk and duplicates', () => {
    const r = rng(1);
    for (let round = 0; round < 50; round++) {
      const texts = Array.from({ length: Math.floor(r() * 40) }, () => (r() < 0.3 ? odd[Math.floor(r() * odd.length)]! : host(r)));
      for (const hostRoutes of [false, true]) {
        const got = canonicalCidrs(texts, hostRoutes);
        expect({ v4: [...got.v4], v6: [...got.v6] }).toEqual(reference(texts, hostRoutes));
      }
    }
  });

  test('a big list edited in place, step by step, always equals the from-scratch result', () => {
    const r = rng(7);
    let texts = Array.from({ length: 3000 }, () => host(r));
    texts = [...new Set(texts)];
    for (let step = 0; step < 200; step++) {
      const next = texts.slice();
      const op = r();
      const at = Math.floor(r() * (next.length + 1));
      if (op < 0.35) next.splice(at, 0, host(r)); // may duplicate an existing entry
      else if (op < 0.6) next.splice(at, 1);
      else if (op < 0.7) next.splice(at, 0, odd[Math.floor(r() * odd.length)]!);
      else if (op < 0.8) next.splice(at, 3, host(r), host(r));
      else if (op < 0.9) next.reverse();
      else next.push(...Array.from({ length: 100 }, () => host(r)));
      // The same strings as new objects, as a re-parse of the file gives.
      texts = next.map((t) => `${t} `.slice(0, -1));
      const got = canonicalCidrs(texts, false, 'GlobalNetworkSet/big');
      const want = reference(texts, false);
      expect([...got.v4]).toEqual(want.v4);
      expect([...got.v6]).toEqual(want.v6);
      // Marked as plain hosts (the renderer then skips its own walk) exactly when every v4 entry is one.
      expect(isKnownV4HostList(got.v4)).toBe(want.v4.every((c) => c.endsWith('/32')));
    }
  });
});
