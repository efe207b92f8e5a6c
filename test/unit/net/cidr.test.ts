import { describe, expect, test } from 'bun:test';
import { formatCidr, intervalStrings, isStrictlyMasked, parseCidr, parseIp } from '../../../src/net/cidr.ts';

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
});
