/**
 * nft/counters.ts on a listing captured from a real table (fixtures/nft-listing.json: `nft -j
 * list table inet outpost` in a lab namespace after real packets: c1 -> gw tcp/80 twice and
 * tcp/443 once, c2 -> gw tcp/80 once; HEP gw-eth1 on eth1, gw-any on *, tiers security and
 * default, profile allow-all), and on hostile ones.
 */
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chainCounters, dropsOf, jumpsOf, sumOf } from '../../../src/nft/counters.ts';
import { prng } from '../../fuzz/hostile-inputs.ts';

const listing: unknown = JSON.parse(readFileSync(join(import.meta.dir, 'fixtures/nft-listing.json'), 'utf8'));

describe('counters from a real listing', () => {
  const c = chainCounters(listing);

  test('an endpoint chain: what reached each policy and what it accepted, paired by position', () => {
    const eth1 = c.get('fh-gw-eth1')!;
    const jumps = jumpsOf(eth1);
    // c1's three connections reached security's policy; none was accepted there (its Pass rule
    // sends them on), two of them (tcp/80) were accepted by web, one (tcp/443) dropped at the tier's end.
    expect(jumps.get('pi-security.block-c2')).toEqual({ evaluated: { packets: 3, bytes: 180 }, allowed: { packets: 0, bytes: 0 } });
    expect(jumps.get('pi-web')).toEqual({ evaluated: { packets: 3, bytes: 180 }, allowed: { packets: 2, bytes: 120 } });
    expect(jumps.get('failsafe-in')).toEqual({ evaluated: { packets: 3, bytes: 180 }, allowed: { packets: 0, bytes: 0 } });
    const drops = dropsOf(eth1);
    expect(drops.get('end of tier default: drop')).toEqual({ packets: 1, bytes: 60 });
    expect(drops.get('end of tier security: drop')).toEqual({ packets: 0, bytes: 0 });
    expect(drops.get('no profile matched: drop')).toEqual({ packets: 0, bytes: 0 });
  });

  test('the wildcard HEP: c2 was denied by the security tier before web saw it', () => {
    const any = jumpsOf(c.get('fh-gw-any')!);
    expect(any.get('pi-security.block-c2')?.evaluated.packets).toBe(1);
    expect(any.get('pi-web')?.evaluated.packets).toBe(0);
    expect(any.get('pri-allow-all')).toEqual({ evaluated: { packets: 0, bytes: 0 }, allowed: { packets: 0, bytes: 0 } });
  });

  test('a policy chain: each rule with its origin and counter, indexes counting uncounted rules too', () => {
    const web = c.get('pi-web')!;
    expect(web.map((r) => [r.index, r.comment, r.packets])).toEqual([
      [0, 'policy default/web ingress[0]', 2],
      [1, 'policy default/web ingress[1]', 1],
      [2, 'policy default/web ingress[2]', 0],
    ]);
    expect(sumOf(c.get('pi-security.block-c2')!)).toEqual({ packets: 4, bytes: 240 });
    // An endpoint chain's uncounted mark rules are skipped but keep their positions.
    const eth1 = c.get('fh-gw-eth1')!;
    expect(eth1.map((r) => r.index)).toEqual([0, 1, 2, 5, 6, 7, 9, 10, 11, 12]);
  });
});

describe('hostile listings', () => {
  test('anything that is not a listing gives no counters, never an exception', () => {
    for (const bad of [null, undefined, 42, 'x', [], {}, { nftables: 'x' }, { nftables: [null, 1, 'a', [], { rule: null }, { rule: { chain: 5 } }] }]) {
      expect(chainCounters(bad).size).toBe(0);
    }
  });

  test('rules with odd counters or verdicts are skipped or read without their verdict', () => {
    const rule = (expr: unknown[], extra: Record<string, unknown> = {}) => ({ rule: { family: 'inet', table: 'outpost', chain: 'fh-x', expr, ...extra } });
    const c = chainCounters({
      nftables: [
        rule([{ counter: { packets: -1, bytes: 0 } }, { accept: null }]),
        rule([{ counter: { packets: 'many', bytes: 0 } }]),
        rule([{ counter: { packets: 5, bytes: 300 } }, { jump: { target: 7 } }]),
        rule([{ counter: { packets: 2, bytes: 100 } }, { jump: { target: 'pi-a' } }]),
        rule([{ counter: { packets: 1, bytes: 50 } }, { return: null }], { comment: 'policy a accepted' }),
        rule([{ counter: { packets: 9, bytes: 9 } }, { accept: null }], { table: 'other' }),
      ],
    });
    const x = c.get('fh-x')!;
    expect(x.map((r) => [r.index, r.packets, r.verdict, r.target])).toEqual([
      [2, 5, 'jump', undefined],
      [3, 2, 'jump', 'pi-a'],
      [4, 1, 'return', undefined],
    ]);
    expect(jumpsOf(x).get('pi-a')).toEqual({ evaluated: { packets: 2, bytes: 100 }, allowed: { packets: 1, bytes: 50 } });
  });

  test('a jump whose next counted rule is not right after it is not given that rule as accepted', () => {
    const c = chainCounters({
      nftables: [
        { rule: { chain: 'c', expr: [{ counter: { packets: 4, bytes: 4 } }, { jump: { target: 'pi-a' } }] } },
        { rule: { chain: 'c', expr: [{ mangle: {} }] } },
        { rule: { chain: 'c', expr: [{ counter: { packets: 3, bytes: 3 } }, { return: null }] } },
      ],
    });
    expect(jumpsOf(c.get('c')!).get('pi-a')?.allowed).toEqual({ packets: 0, bytes: 0 });
  });

  test('random mutations of the real listing never throw', () => {
    const rnd = prng(13);
    const text = JSON.stringify(listing);
    for (let i = 0; i < 300; i++) {
      const at = Math.floor(rnd() * text.length);
      const mutated = text.slice(0, at) + ['0', '"', '-1', 'null', '{}', '[]'][Math.floor(rnd() * 6)] + text.slice(at + 1 + Math.floor(rnd() * 5));
      let value: unknown;
      try {
        value = JSON.parse(mutated);
      } catch {
        continue;
      }
      expect(() => chainCounters(value)).not.toThrow();
    }
  });
});
