import { describe, expect, test } from 'bun:test';
import { policyChains, policyPackets } from '../../../src/observe/policy-counters.ts';
import { policyChain, profileChain } from '../../../src/render/naming.ts';

const pol = (key: string) => ({ key, name: key.slice(key.indexOf('/') + 1), ingress: [], egress: [] });
const plan = { policies: [pol('default/allow-web'), pol('security/' + 'x'.repeat(300))], profiles: [pol('profile/kns.default')] } as never;
const rule = (chain: string, expr: unknown[], table = 'outpost') => ({ rule: { family: 'inet', table, chain, handle: 1, expr } });
const counter = (packets: number, bytes = packets * 60) => ({ counter: { packets, bytes } });
const jump = (target: string) => ({ jump: { target } });

describe('per-policy packets from a table listing', () => {
  const chains = policyChains(plan);

  test('every policy and profile of the plan, both directions, by the chain names the renderer gives (long names too)', () => {
    expect(chains.get(policyChain('in', 'allow-web'))).toEqual({ policy: 'default/allow-web', direction: 'inbound' });
    expect(chains.get(policyChain('out', 'x'.repeat(300)))).toEqual({ policy: `security/${'x'.repeat(300)}`, direction: 'outbound' });
    expect(chains.get(profileChain('in', 'kns.default'))).toEqual({ policy: 'profile/kns.default', direction: 'inbound' });
    expect(chains.size).toBe(6);
  });

  test('counted jumps are summed over endpoint chains; idle policies are 0; anything else in the listing is ignored', () => {
    const web = policyChain('in', 'allow-web');
    const listing = {
      nftables: [
        { metainfo: { version: '1.0.9' } },
        rule('e-in-gw-eth1', [counter(5), jump(web)]),
        rule('e-in-gw-eth1', [{ match: {} }, counter(3), { return: null }]),
        rule('e-in-gw-eth2', [counter(2), jump(web)]),
        // Not ours, malformed, or not a jump to a policy chain: none of it counts.
        rule('e-in-gw-eth1', [counter(1000), jump(web)], 'other'),
        rule('e-in-gw-eth1', [{ counter: { packets: -4, bytes: 0 } }, jump(web)]),
        rule('e-in-gw-eth1', [{ counter: 'lots' }, jump(web)]),
        rule('e-in-gw-eth1', [counter(77), jump('failsafe-in')]),
        { rule: 'nonsense' },
        null,
      ],
    };
    const got = new Map(policyPackets(listing, chains).map((c) => [`${c.policy} ${c.direction}`, c.packets]));
    expect(got.get('default/allow-web inbound')).toBe(7);
    expect(got.get('default/allow-web outbound')).toBe(0);
    expect(got.get('profile/kns.default inbound')).toBe(0);
    expect(got.size).toBe(6);
  });

  test('a listing that is not one (nft changed its output, an empty reply) gives zeros, never a throw', () => {
    for (const listing of [null, {}, { nftables: 'x' }, [], 'text']) {
      expect(policyPackets(listing, chains).every((c) => c.packets === 0)).toBe(true);
    }
  });
});

describe('the reader behind /metrics', () => {
  test('scrapes that arrive together share one nft listing: a burst of requests cannot start an nft process each', async () => {
    const { mkdtempSync, writeFileSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { policyPacketReader } = await import('../../../src/observe/policy-counters.ts');
    const dir = mkdtempSync(join(tmpdir(), 'outpost-pc-'));
    try {
      // Stands in for nft only to count how often it is started; it prints an empty listing.
      const nft = join(dir, 'nft');
      writeFileSync(nft, `#!/bin/sh\necho x >> ${join(dir, 'calls')}\necho '{"nftables":[]}'\n`, { mode: 0o755 });
      const reader = policyPacketReader(nft);
      reader.observer.rendered!({ plan, dispatch: undefined as never, at: new Date() } as never);
      reader.observer.applied!({ ok: true } as never);
      const results = await Promise.all(Array.from({ length: 50 }, () => reader.read()));
      expect(results.every((r) => r.length === 6)).toBe(true);
      expect(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').length).toBe(1);
      // The next scrape reads anew (counters move).
      await reader.read();
      expect(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').length).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
