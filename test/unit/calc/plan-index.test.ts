/**
 * PlanIndex reaches only the nodes a change can reach (the differential test checks the bytes;
 * this checks the reach), and falls back to the from-scratch computation for a resource list
 * with two resources under one key.
 */
import { describe, expect, test } from 'bun:test';
import { parseManifest } from '../../../src/model/manifest.ts';
import type { Resource } from '../../../src/model/resource.ts';
import { PlanIndex } from '../../../src/calc/plan-index.ts';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { canonicalJson } from '../../../src/protocol/canonical-json.ts';
import { doc, gnp, hep } from '../../integration/fixtures.ts';

const load = (text: string): Resource[] => {
  const r = parseManifest(text, 't');
  expect(r.errors).toEqual([]);
  return r.resources;
};
const nodes = ['a', 'b', 'c', 'd'];
const heps = nodes.map((n, i) => hep(`${n}-eth0`, { iface: 'eth0', node: n, ips: [`198.18.0.${i + 1}`], labels: { host: n, role: i < 2 ? 'web' : 'db' } })).join('');
const base = heps +
  gnp('web-from-feed', `selector: role == 'web'\ningress: [{action: Allow, source: {selector: feed == 'x'}}]`) +
  gnp('db-only', `selector: role == 'db'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [5432]}}]`) +
  doc('GlobalNetworkSet', 'feed-x', 'nets: ["198.19.0.0/24"]', { feed: 'x' }) +
  doc('GlobalNetworkSet', 'other', 'nets: ["198.19.1.0/24"]', { feed: 'y' });

describe('plan index reach', () => {
  test('first state: every node; then a policy reaches the nodes it selects, a set member the nodes using its set, an unrelated member none', () => {
    const idx = new PlanIndex();
    const first = idx.update(load(base));
    expect([...first.dirty].sort()).toEqual(nodes);
    for (const n of first.dirty) idx.plan(n);

    const policyChanged = idx.update(load(base.replace('ports: [5432]', 'ports: [5433]')));
    expect([...policyChanged.dirty].sort()).toEqual(['c', 'd']);
    for (const n of policyChanged.dirty) idx.plan(n);

    const memberChanged = idx.update(load(base.replace('ports: [5432]', 'ports: [5433]').replace('198.19.0.0/24', '198.19.0.0/25')));
    expect([...memberChanged.dirty].sort()).toEqual(['a', 'b']);
    for (const n of memberChanged.dirty) idx.plan(n);

    const unrelated = idx.update(load(base.replace('ports: [5432]', 'ports: [5433]').replace('198.19.0.0/24', '198.19.0.0/25').replace('198.19.1.0/24', '198.19.2.0/24')));
    expect([...unrelated.dirty]).toEqual([]);

    const relabel = idx.update(load(base.replace('ports: [5432]', 'ports: [5433]').replace('198.19.0.0/24', '198.19.0.0/25').replace('198.19.1.0/24', '198.19.2.0/24').replace('{"host":"d","role":"db"}', '{"host":"d","role":"web"}')));
    // d moves between policies; d is no member of any set in use (no rule selects role), so no one else.
    expect([...relabel.dirty].sort()).toEqual(['d']);
  });

  test('two resources under one key: every node from scratch, and back to the index afterwards', () => {
    const idx = new PlanIndex();
    for (const n of idx.update(load(base)).dirty) idx.plan(n);
    const dup = load(base + hep('a-eth0', { iface: 'eth9', node: 'a', labels: { host: 'a', role: 'db' } }));
    const u = idx.update(dup);
    expect(u.all).toBeTrue();
    expect(canonicalJson(idx.plan('a').plan)).toBe(canonicalJson(computeNodePlan({ node: 'a', resources: dup }).plan));
    const back = idx.update(load(base));
    expect([...back.dirty].sort()).toEqual(nodes);
    for (const n of nodes) expect(canonicalJson(idx.plan(n).plan)).toBe(canonicalJson(computeNodePlan({ node: n, resources: load(base) }).plan));
  });
});
