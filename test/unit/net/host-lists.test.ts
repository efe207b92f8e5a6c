import { describe, expect, test } from 'bun:test';
import { firstNotBelow, isCanonicalV4Host, sortedUnique } from '../../../src/net/host-lists.ts';
import { formatNetwork, parseCIDR } from '../../../src/net/ip.ts';

/** What the character walk stands in for: the parser's own canonical IPv4 /32. */
const canonicalByParse = (s: string): boolean => {
  const c = parseCIDR(s);
  return c !== undefined && c.version === 4 && c.prefix === 32 && formatNetwork(c) === s;
};

describe('isCanonicalV4Host', () => {
  // The CIDR validator accepts these without parsing them, so a wrong "true" lets junk through.
  const hostile = [
    '10.0.0.1/32', '0.0.0.0/32', '255.255.255.255/32', '1.2.3.4/32',
    '256.0.0.1/32', '01.2.3.4/32', '1.2.3.04/32', '00.0.0.0/32', '1.2.3/32', '1.2.3.4.5/32',
    '1.2.3.4/3', '1.2.3.4/320', '1.2.3.4/ 32', ' 1.2.3.4/32', '1.2.3.4/32 ', '1..3.4/32', '.1.2.3/32',
    '1.2.3./32', '1.2.3.4', '1.2.3.4/31', 'a.b.c.d/32', '1.2.3.4\n/32', '1.2.3.1000/32', '9999.1.1.1/32',
    '1.2.3.-4/32', '+1.2.3.4/32', '1.2.3.4//32', '１.2.3.4/32', '1.2.3.4/٣2', '::1/32', '1.2.3.4:80/32', '',
  ];
  test('agrees with parse-and-format on hostile strings', () => {
    for (const s of hostile) expect([s, isCanonicalV4Host(s)]).toEqual([s, canonicalByParse(s)]);
  });

  test('agrees with parse-and-format on random strings over the digits, dots and slash', () => {
    let seed = 12345; // xorshift32: fixed, so a failure repeats
    const rnd = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const alphabet = '0123456789./2535';
    let accepted = 0;
    for (let i = 0; i < 50_000; i++) {
      const s = i % 2
        ? Array.from({ length: 4 }, () => String(rnd(300)).padStart(rnd(3) ? 0 : 2, '0')).join('.') + (rnd(8) ? '/32' : '/3')
        : Array.from({ length: 7 + rnd(12) }, () => alphabet[rnd(alphabet.length)]).join('');
      const want = canonicalByParse(s);
      if (isCanonicalV4Host(s) !== want) throw new Error(`disagree on ${JSON.stringify(s)}: parse says ${want}`);
      if (want) accepted++;
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});

describe('sortedUnique and firstNotBelow', () => {
  test('a sorted list comes back as the same array; otherwise a sorted, de-duplicated copy', () => {
    const sorted = ['1.1.1.1/32', '1.1.1.2/32', '2.0.0.0/32'];
    expect(sortedUnique(sorted)).toBe(sorted);
    const messy = ['2.0.0.0/32', '1.1.1.1/32', '2.0.0.0/32', '1.1.1.2/32'];
    expect(sortedUnique(messy)).toEqual(sorted);
    expect(messy).toEqual(['2.0.0.0/32', '1.1.1.1/32', '2.0.0.0/32', '1.1.1.2/32']);
    expect(sortedUnique(['a', 'a'])).toEqual(['a']);
  });

  test('firstNotBelow is the first index whose member is at least x', () => {
    const list = ['b', 'd', 'f'];
    expect(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((x) => firstNotBelow(list, x))).toEqual([0, 0, 1, 1, 2, 2, 3]);
    expect(firstNotBelow([], 'x')).toBe(0);
  });
});
