// stagedCounts reads nft's listing, which is external input: odd or hostile items are skipped,
// never thrown on, and only count-only staged chains with an outcome comment are counted.
import { describe, expect, test } from 'bun:test';
import { stagedCounts } from '../../../src/nft/staged-counters.ts';
import { stagedChain } from '../../../src/render/naming.ts';

const rule = (chain: string, comment: string | undefined, packets: unknown, bytes: unknown = 0) => ({
  rule: { family: 'inet', table: 'outpost', chain, handle: 1, ...(comment === undefined ? {} : { comment }), expr: [{ match: {} }, { counter: { packets, bytes } }, { return: null }] },
});

describe('stagedCounts', () => {
  test('not a listing: no counts', () => {
    for (const x of [null, undefined, 'text', 42, [], {}, { nftables: 'x' }, { nftables: [null, 1, 'a', []] }]) expect(stagedCounts(x)).toEqual([]);
  });

  test('sums rules per outcome; other chains and comments are not counted', () => {
    const counts = stagedCounts({
      nftables: [
        rule('spi-web', 'would-deny: staged default/web ingress[0]', 3, 180),
        rule('spi-web', 'would-deny: staged default/web ingress[0]', 2, 120),
        rule('spi-web', 'no-match: staged default/web ingress', 1, 60),
        rule('pi-web', 'would-deny: staged default/web ingress[0]', 1000),
        rule('fh-host', 'staged default/web', 1000),
        rule('spi-web', undefined, 1000),
        rule('spi-web', 'would-drop: typo', 1000),
      ],
    });
    expect(counts).toEqual([
      {
        policy: 'web',
        key: 'default/web',
        direction: 'ingress',
        wouldAllow: { packets: 0, bytes: 0 },
        wouldDeny: { packets: 5, bytes: 300 },
        wouldPass: { packets: 0, bytes: 0 },
        wouldLog: { packets: 0, bytes: 0 },
        noMatch: { packets: 1, bytes: 60 },
      },
    ]);
  });

  test('malformed counters are skipped, not trusted', () => {
    const counts = stagedCounts({
      nftables: [
        rule('spo-x', 'would-allow: r', -1),
        rule('spo-x', 'would-allow: r', 1.5),
        rule('spo-x', 'would-allow: r', '7'),
        rule('spo-x', 'would-allow: r', 4, 'lots'),
        rule('spo-x', 'would-allow: r', 2, 20),
        { rule: { chain: 'spo-x', comment: 'would-allow: r', expr: 'no' } },
        { rule: { chain: 'spo-x'.repeat(100), comment: 'would-allow: r', expr: [] } },
      ],
    });
    expect(counts.length).toBe(1);
    expect(counts[0]!.direction).toBe('egress');
    expect(counts[0]!.wouldAllow).toEqual({ packets: 2, bytes: 20 });
    expect(counts[0]!.key).toBeUndefined();
  });

  test('a long name nft saw hashed is named exactly when the plan is given', () => {
    const name = `p${'x'.repeat(230)}`;
    const chain = stagedChain('in', name);
    expect(chain).toContain('~');
    const listing = { nftables: [rule(chain, 'would-pass: cut…', 9)] };
    expect(stagedCounts(listing)[0]!.policy).toBe(chain.slice(4));
    const withPlan = stagedCounts(listing, { staged: [{ key: `default/${name}`, name }] })[0]!;
    expect(withPlan.policy).toBe(name);
    expect(withPlan.key).toBe(`default/${name}`);
    expect(withPlan.wouldPass.packets).toBe(9);
  });

  test('a large listing is read in one pass', () => {
    const nftables = Array.from({ length: 20_000 }, (_, i) => rule(`spi-p${i % 100}`, 'would-deny: r', 1, 1));
    const counts = stagedCounts({ nftables });
    expect(counts.length).toBe(100);
    expect(counts.every((c) => c.wouldDeny.packets === 200)).toBe(true);
  });
});
