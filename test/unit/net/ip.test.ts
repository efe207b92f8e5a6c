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
