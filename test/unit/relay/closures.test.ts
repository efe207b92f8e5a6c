import { describe, expect, test } from 'bun:test';
import { computeClosures, diffNodes, nodesWithEndpoints } from '../../../src/relay/closures.ts';
import { contentHash } from '../../../src/protocol/snapshot.ts';
import { parseManifest } from '../../../src/model/manifest.ts';
import { gnp, hep } from '../../integration/fixtures.ts';

const load = (text: string) => {
  const r = parseManifest(text, 'test');
  expect(r.errors).toEqual([]);
  return r.resources;
};

describe('relay closures', () => {
  const base = hep('a-eth0', { iface: 'eth0', node: 'a', labels: { role: 'a' } }) + hep('b-eth0', { iface: 'eth0', node: 'b', labels: { role: 'b' } });

  test('one closure per node that has a HEP', () => {
    expect(nodesWithEndpoints(load(base))).toEqual(['a', 'b']);
    expect([...computeClosures(load(base)).keys()]).toEqual(['a', 'b']);
  });

  test('a policy for one node changes only that node\'s content hash', () => {
    const before = computeClosures(load(base));
    const after = computeClosures(load(base + gnp('only-a', `selector: role == 'a'\ningress: [{action: Allow}]`)));
    const h = (m: typeof before) => new Map([...m].map(([n, c]) => [n, contentHash(c.plan)]));
    expect(diffNodes(h(before), h(after))).toEqual({ changed: ['a'], removed: [] });
  });

  test('a rule selector that names the other node: its addresses are in the closure', () => {
    const policy = gnp('a-from-b', `selector: role == 'a'\ningress: [{action: Allow, source: {selector: role == 'b'}}]`);
    const heps = (bIp: string) => hep('a-eth0', { iface: 'eth0', node: 'a', labels: { role: 'a' } }) + hep('b-eth0', { iface: 'eth0', node: 'b', ips: [bIp], labels: { role: 'b' } });
    const one = computeClosures(load(heps('198.18.9.1') + policy));
    const moved = computeClosures(load(heps('198.18.9.2') + policy));
    expect(contentHash(one.get('a')!.plan)).not.toBe(contentHash(moved.get('a')!.plan));
    expect(JSON.stringify(moved.get('a')!.plan.ipSets)).toContain('198.18.9.2/32');
  });

  test('diff: new, changed, unchanged and removed nodes', () => {
    const published = new Map([['a', 'h1'], ['b', 'h2'], ['gone', 'h3']]);
    const next = new Map([['a', 'h1'], ['b', 'h2x'], ['new', 'h4']]);
    expect(diffNodes(published, next)).toEqual({ changed: ['b', 'new'], removed: ['gone'] });
  });
});
