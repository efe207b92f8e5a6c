/**
 * Set membership in explain (inCidrs) over large selector sets: the same answer as a plain scan of
 * every member, for hosts, prefixes of mixed lengths, /0, non-strictly-masked members, both
 * families and mapped IPv6 (::ffff:a.b.c.d is IPv6, never the IPv4 address). A relay runs up to
 * 2,000 policy tests on every state it publishes, and a 100,000-member blocklist used to cost a
 * full parse of every member on every lookup (about 0.1 s each), blocking the relay for minutes.
 */
import { describe, expect, test } from 'bun:test';
import { cidrContains, parseCidr, parseIp } from '../../../src/net/cidr.ts';
import { inCidrs } from '../../../src/explain/rule-match.ts';
import { prng } from '../../lab/prng.ts';

const naive = (cidrs: readonly string[], family: 4 | 6, addr: bigint): boolean =>
  cidrs.some((s) => {
    const c = parseCidr(s);
    return !!c && cidrContains(c, { family, addr, len: family === 4 ? 32 : 128 });
  });

describe('inCidrs', () => {
  test('agrees with a scan of every member on a large mixed set', () => {
    const r = prng(12);
    const octet = () => Math.floor(r() * 256);
    const members: string[] = ['0.0.0.0/0', '198.18.0.5/24', '::ffff:198.18.0.0/112', 'fd00::/8', 'fd00:1::7/128', 'not-an-address'];
    for (let i = 0; i < 20_000; i++) members.push(`10.${octet()}.${octet()}.${octet()}/${[32, 32, 24, 16, 30][i % 5]}`);
    const without0 = members.filter((m) => m !== '0.0.0.0/0');
    const probes: string[] = ['198.18.0.1', '198.18.1.1', '::ffff:198.18.0.9', '::ffff:10.1.2.3', 'fd00::1', 'fd00:1::7', 'fe80::1', '0.0.0.0', '255.255.255.255'];
    for (let i = 0; i < 2_000; i++) probes.push(`10.${octet()}.${octet()}.${octet()}`);
    let hits = 0;
    for (const list of [members, without0]) {
      for (const p of probes) {
        const a = parseIp(p)!;
        const want = naive(list, a.family, a.addr);
        expect(inCidrs(list, a.family, a.addr), `${p} in ${list.length} members`).toBe(want);
        if (want) hits++;
      }
    }
    // Both answers are common, so the comparison is not vacuous.
    expect(hits).toBeGreaterThan(2_000);
    expect(hits).toBeLessThan(2 * probes.length);
  });

  test('the same list answers the same after it was asked before (nothing stale between lists)', () => {
    const a = ['198.18.0.0/24'];
    const b = ['198.19.0.0/24'];
    const x = parseIp('198.18.0.7')!.addr;
    expect(inCidrs(a, 4, x)).toBe(true);
    expect(inCidrs(b, 4, x)).toBe(false);
    expect(inCidrs(a, 4, x)).toBe(true);
    expect(inCidrs(a, 6, x)).toBe(false);
  });
});
