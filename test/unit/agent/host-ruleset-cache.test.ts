/**
 * Local mode compiles each policy object once and reuses it while the folder source hands back
 * the same object (host-ruleset.ts). After every edit the result must be what a from-scratch
 * computation gives: plan, warnings and rendered table.
 */
import { expect, test } from 'bun:test';
import { buildRuleset, renderForHost } from '../../../src/agent/host-ruleset.ts';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { parseManifest } from '../../../src/model/manifest.ts';
import type { Resource } from '../../../src/model/resource.ts';

const config = { node: 'gw', loopback: 'exempt' as const, failsafeInbound: undefined, failsafeOutbound: undefined };
const interfaces = [{ name: 'eth1', addresses: ['198.18.1.1'] }];

const yaml = (kind: string, name: string, spec: object, labels?: object) =>
  JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name, ...(labels ? { labels } : {}) }, spec });
const one = (text: string): Resource => {
  const r = parseManifest(text, 'test.yaml');
  expect(r.errors).toEqual([]);
  return r.resources[0]!;
};
const policy = (i: number, port: number, selector = `role == 'gw'`, profileOrTier?: string) =>
  one(yaml('GlobalNetworkPolicy', `p${i}`, {
    order: i,
    ...(profileOrTier ? { tier: profileOrTier } : {}),
    selector,
    ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: `set == 's${i % 3}'` }, destination: { ports: [port] } }, { action: 'Deny', source: { notSelector: `set == 's2'` } }],
    egress: [{ action: 'Allow', destination: { nets: [`198.18.${i}.0/24`] } }],
  }));
const gns = (i: number, nets: string[]) => one(yaml('GlobalNetworkSet', `s${i}`, { nets }, { set: `s${i}` }));

test('a cached local-mode build equals the from-scratch one after every edit', () => {
  const hep = one(yaml('HostEndpoint', 'gw-eth1', { node: 'gw', interfaceName: 'eth1', expectedIPs: ['198.18.1.1'], profiles: ['missing'] }, { role: 'gw' }));
  let state: Resource[] = [hep, one(yaml('Tier', 'sec', { order: 10 })), ...Array.from({ length: 8 }, (_, i) => policy(i, 1000 + i, `role == 'gw'`, i % 2 ? 'sec' : undefined)), gns(0, ['198.18.0.1/32']), gns(1, ['198.18.0.2/32', '198.18.8.0/24']), gns(2, [])];
  const edits: ((s: Resource[]) => Resource[])[] = [
    (s) => s.map((r) => (r.metadata.name === 'p3' ? policy(3, 4242) : r)),
    (s) => s.map((r) => (r.metadata.name === 's1' ? gns(1, ['198.18.0.9/32']) : r)),
    (s) => s.filter((r) => r.metadata.name !== 'p5'),
    (s) => [...s, policy(9, 9, 'all()', 'missing-tier')],
    (s) => s.map((r) => (r.metadata.name === 'p1' ? policy(1, 1001, `role == 'other'`) : r)),
    (s) => s.filter((r) => r.kind !== 'Tier'),
    (s) => s.map((r) => (r.metadata.name === 'p9' ? policy(9, 99) : r)),
  ];
  for (const edit of [(s: Resource[]) => s, ...edits]) {
    state = edit(state);
    const got = buildRuleset(config, state, interfaces);
    const scratch = computeNodePlan({ node: 'gw', resources: state });
    const want = renderForHost(scratch.plan, config, interfaces);
    expect(got.plan).toEqual(want.plan);
    expect(got.rendered.table).toEqual(want.rendered.table);
    expect(got.warnings).toEqual([...scratch.warnings, ...want.rendered.unnameable.map((u) => `interface not governed by name: ${u}`)]);
  }
});
