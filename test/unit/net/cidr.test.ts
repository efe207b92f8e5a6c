import { describe, expect, test } from 'bun:test';
import { formatCidr, intervalMembers, intervalStrings, isStrictlyMasked, parseCidr, parseIp, type Cidr } from '../../../src/net/cidr.ts';

describe('cidr', () => {
  test.each([
    ['198.18.0.1', '198.18.0.1/32'],
    ['198.18.0.0/15', '198.18.0.0/15'],
    ['fd00::1', 'fd00::1/128'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1/128'],
    ['fd00:1::/64', 'fd00:1::/64'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'],
    ['::ffff:198.18.0.1', '::ffff:c612:1/128'],
    ['::', '::/128'],
  ])('parses and formats %s', (input, want) => {
    const c = parseCidr(input);
    expect(c).not.toBeNull();
    expect(formatCidr(c!)).toBe(want);
  });

  test.each(['1.2.3', '256.1.1.1', '01.2.3.4', '1.2.3.4/33', 'fd00::/129', 'fd00::1::2', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', 'x'])('rejects %s', (s) => {
    expect(parseCidr(s)).toBeNull();
  });

  test('strict masking', () => {
    expect(isStrictlyMasked(parseCidr('198.18.0.0/24')!)).toBe(true);
    expect(isStrictlyMasked(parseCidr('198.18.0.1/24')!)).toBe(false);
    expect(isStrictlyMasked(parseCidr('fd00::1/64')!)).toBe(false);
  });

  test('interval members drop covered CIDRs, split /0, keep one family, and sort', () => {
    expect(intervalStrings(['198.18.2.0/24', '198.18.0.0/16', '198.18.1.5', 'fd00::/8', '10.0.0.1'], 4)).toEqual(['10.0.0.1/32', '198.18.0.0/16']);
    expect(intervalStrings(['0.0.0.0/0', '198.18.0.1'], 4)).toEqual(['0.0.0.0/1', '128.0.0.0/1']);
    expect(intervalStrings(['fd00:1::/64', 'fd00:1::5', 'fd00:2::1'], 6)).toEqual(['fd00:1::/64', 'fd00:2::1/128']);
  });

  test('parseIp tells the family', () => {
    expect(parseIp('198.18.0.1')?.family).toBe(4);
    expect(parseIp('fd00::1')?.family).toBe(6);
    expect(parseIp('198.18.0.0/24')).toBeNull();
  });

  test('IPv4 interval strings (plain numbers) equal the bigint members, at every edge prefix', () => {
    const bigint = (list: string[]) => intervalMembers(list.map(parseCidr).filter((c): c is Cidr => c?.family === 4)).map(formatCidr);
    // A fixed pseudo-random sequence: the same cases on every run.
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const edges = ['0.0.0.0/0', '255.255.255.255', '255.255.255.255/32', '128.0.0.0/1', '127.255.255.255/1', '0.0.0.0/32', '198.18.0.1/31', '10.0.0.1/8', '::/0', 'fd00::1', 'x', '1.2.3.4/33'];
    for (let i = 0; i < 2000; i++) {
      const list = Array.from({ length: 1 + rnd(6) }, () =>
        rnd(5) === 0 ? edges[rnd(edges.length)]! : `${rnd(4) === 0 ? 255 : 198}.${rnd(3) + 17}.${rnd(256)}.${rnd(256)}/${rnd(33)}`);
      expect(intervalStrings(list, 4)).toEqual(bigint(list));
    }
    expect(intervalStrings(['255.255.255.255/32', '10.0.0.1/8', '::/0'], 4)).toEqual(['10.0.0.0/8', '255.255.255.255/32']);
    expect(intervalStrings(['128.0.0.0/1', '0.0.0.0/0'], 4)).toEqual(['0.0.0.0/1', '128.0.0.0/1']);
  });
});
