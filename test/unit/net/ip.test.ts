// IP/CIDR parsing matches Go's net package for the inputs Calico validates.
import { describe, expect, test } from 'bun:test';
import { formatIP, formatNetwork, isStrictlyMasked, parseCIDR, parseCIDROrIP, parseIP } from '../../../src/net/ip.ts';

describe('parseIP', () => {
  const good: [string, 4 | 6, string][] = [
    ['1.2.3.4', 4, '1.2.3.4'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['255.255.255.255', 4, '255.255.255.255'],
    ['::', 6, '::'],
    ['::1', 6, '::1'],
    ['aabb:aabb::ffff', 6, 'aabb:aabb::ffff'],
    ['AABB::0000:1', 6, 'aabb::1'],
    ['1:0:0:2:0:0:0:3', 6, '1:0:0:2::3'],
    ['1:0:0:2:0:0:3:4', 6, '1::2:0:0:3:4'],
    ['1:2:3:4:5:6:7::', 6, '1:2:3:4:5:6:7:0'],
    ['::ffff:1.2.3.4', 6, '::ffff:102:304'],
    ['fe80::1:2:3:4', 6, 'fe80::1:2:3:4'],
  ];
  for (const [s, version, canonical] of good) {
    test(`accepts ${s}`, () => {
      const ip = parseIP(s);
      expect(ip?.version).toBe(version);
      expect(formatIP(ip!.bytes)).toBe(canonical);
    });
  }
  const bad = [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '999.999.999.999',
    'xyz:::',
    '1::2::3',
    ':1::',
    '1:2:3:4:5:6:7:8:9',
    'fe80::1%eth0',
    '1.2.3.4::',
    '1.2.3.4/32',
    'garbage',
    '12345::',
  ];
  for (const s of bad) test(`rejects ${JSON.stringify(s)}`, () => expect(parseIP(s)).toBeUndefined());
});

describe('CIDRs', () => {
  test('parseCIDR needs a prefix; parseCIDROrIP takes bare addresses as full-length', () => {
    expect(parseCIDR('10.0.0.1')).toBeUndefined();
    expect(parseCIDROrIP('10.0.0.1')).toEqual({ version: 4, ip: new Uint8Array([10, 0, 0, 1]), prefix: 32 });
    expect(parseCIDROrIP('fd00::1')?.prefix).toBe(128);
    expect(parseCIDROrIP('10.0.0.0/33')).toBeUndefined();
    expect(parseCIDROrIP('fd00::/129')).toBeUndefined();
    expect(parseCIDROrIP('10.0.0.0/')).toBeUndefined();
    expect(parseCIDROrIP('10.0.0.0/-1')).toBeUndefined();
  });
  const masking: [string, boolean, string][] = [
    ['10.0.0.0/8', true, '10.0.0.0/8'],
    ['10.0.0.1/8', false, '10.0.0.0/8'],
    ['1.2.3.4/32', true, '1.2.3.4/32'],
    ['1.2.3.0/26', true, '1.2.3.0/26'],
    ['1.2.3.64/26', true, '1.2.3.64/26'],
    ['1.2.3.65/26', false, '1.2.3.64/26'],
    ['0.0.0.0/0', true, '0.0.0.0/0'],
    ['aabb:aabb::0000/122', true, 'aabb:aabb::/122'],
    ['aabb:aabb::ffff/122', false, 'aabb:aabb::ffc0/122'],
    ['::0/0', true, '::/0'],
  ];
  for (const [s, strict, network] of masking) {
    test(`${s} is ${strict ? '' : 'not '}strictly masked`, () => {
      const c = parseCIDROrIP(s)!;
      expect(isStrictlyMasked(c)).toBe(strict);
      expect(formatNetwork(c)).toBe(network);
    });
  }
});

describe('IPv4 and prefix parsing without regexes', () => {
  // The regex form the character loops replaced, as the reference.
  const refV4 = (s: string): number[] | undefined => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
    if (!m) return undefined;
    const parts = m.slice(1).map((p) => (p.length > 1 && p.startsWith('0') ? NaN : Number(p)));
    return parts.every((n) => n <= 255) ? parts : undefined;
  };
  const refCIDR = (s: string): string | undefined => {
    const slash = s.indexOf('/');
    const ip = slash < 0 ? undefined : refV4(s.slice(0, slash));
    const text = s.slice(slash + 1);
    if (!ip || !/^\d{1,3}$/.test(text) || Number(text) > 32) return undefined;
    return `${ip.join('.')}/${Number(text)}`;
  };

  test('accept and reject exactly what the regex form did, on edge cases and random strings', () => {
    const edges = ['0.0.0.0', '255.255.255.255', '256.0.0.0', '1.2.3', '1.2.3.4.', '.1.2.3', '1..2.3', '01.2.3.4', '1.2.3.00', '1.2.3.0',
      '1.2.3.4a', '١.2.3.4', '1.2.3.1234', '', '....', '1.2.3.4/', '1.2.3.4/0', '1.2.3.4/32', '1.2.3.4/33', '1.2.3.4/032', '1.2.3.4/0032', '1.2.3.4/-1', '1.2.3.4/ 1', '1.2.3.4/1a'];
    let seed = 99;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const alphabet = '0123456789../ a';
    const randoms = Array.from({ length: 20_000 }, () => Array.from({ length: 1 + rnd(14) }, () => alphabet[rnd(alphabet.length)]).join(''));
    const dotted = Array.from({ length: 5_000 }, () => `${rnd(300)}.${rnd(300)}.0${rnd(10)}.${rnd(256)}/${rnd(40)}`.replace(/\.0(\d)\./, rnd(2) ? '.$1.' : '.0$1.'));
    for (const s of [...edges, ...randoms, ...dotted]) {
      const ip = parseIP(s);
      expect({ s, ip: ip ? Array.from(ip.bytes) : undefined }).toEqual({ s, ip: refV4(s) });
      const c = parseCIDR(s);
      expect({ s, c: c && c.version === 4 ? `${Array.from(c.ip).join('.')}/${c.prefix}` : undefined }).toEqual({ s, c: refCIDR(s) });
    }
  });
});

describe('formatIP', () => {
  // The array-and-join form it replaced, as the reference (RFC 5952: longest zero run of 2+, first on a tie).
  const ref = (bytes: Uint8Array): string => {
    const groups: number[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
    let bestStart = -1;
    let bestLen = 1;
    for (let i = 0; i < 8;) {
      if (groups[i] !== 0) { i++; continue; }
      let j = i;
      while (j < 8 && groups[j] === 0) j++;
      if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
      i = j;
    }
    const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
    return bestStart < 0 ? hex(groups) : `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
  };

  test('IPv6 text equals the reference for every zero-group pattern and random groups', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let mask = 0; mask < 256; mask++) {
      for (let k = 0; k < 4; k++) {
        const b = new Uint8Array(16);
        for (let g = 0; g < 8; g++) if (mask & (1 << g)) { b[2 * g] = rnd(2) ? rnd(256) : 0; b[2 * g + 1] = 1 + rnd(255); }
        expect(formatIP(b)).toBe(ref(b));
      }
    }
    expect(formatIP(new Uint8Array([198, 18, 0, 1]))).toBe('198.18.0.1');
  });
});
