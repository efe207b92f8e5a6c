import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { resolveDispatch } from '../../../src/calc/dispatch.ts';
import { resources } from './helpers.ts';

const HEPS = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth1, labels: {role: gw}}
spec: {node: gw, interfaceName: eth1, expectedIPs: [198.18.1.1], profiles: [base], ports: [{name: web, protocol: TCP, port: 8080}]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: peer, labels: {role: client}}
spec: {node: other, expectedIPs: [198.18.1.2, 'fd00:1::2'], ports: [{name: web, protocol: TCP, port: 80}, {name: web, protocol: UDP, port: 80}]}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: base}
spec: {labelsToApply: {zone: dmz, role: ignored}, ingress: [{action: Allow}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: office, labels: {role: client}}
spec: {nets: [198.18.8.0/24, 198.18.8.7/32, 0.0.0.0/0]}
`;

const gnp = (name: string, spec: string) => `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: ${name}}
spec: ${spec}
`;

describe('computeNodePlan', () => {
  test('keeps only this node\'s HEPs and resolves selectors across all endpoints and network sets', () => {
    const { plan } = computeNodePlan({
      node: 'gw',
      resources: resources(HEPS + gnp('p', `{selector: "role == 'gw'", ingress: [{action: Allow, source: {selector: "role == 'client'"}}]}`)),
    });
    expect(plan.endpoints.map((e) => e.name)).toEqual(['gw-eth1']);
    expect(plan.ipSets).toHaveLength(1);
    const set = plan.ipSets[0]!;
    expect(set.selector).toBe('role == "client"');
    // Members are the raw CIDRs; overlap removal happens at render time.
    expect(set.v4).toEqual(['0.0.0.0/0', '198.18.1.2/32', '198.18.8.0/24', '198.18.8.7/32']);
    expect(set.v6).toEqual(['fd00:1::2/128']);
  });

  test('profile labelsToApply are inherited; the endpoint\'s own labels win', () => {
    const { plan } = computeNodePlan({
      node: 'gw',
      resources: resources(HEPS + gnp('dmz', `{selector: "zone == 'dmz' && role == 'gw'", ingress: [{action: Allow}]}`)),
    });
    expect(plan.endpoints[0]!.ingress.normal.map((t) => t.policies)).toEqual([['default/dmz']]);
  });

  test('splits policies into untracked, pre-DNAT, normal and forward stages; empty types means both', () => {
    const input = resources(HEPS +
      gnp('untracked', `{selector: all(), doNotTrack: true, applyOnForward: true, types: [Ingress, Egress]}`) +
      gnp('pre', `{selector: all(), preDNAT: true, applyOnForward: true, types: [Ingress]}`) +
      gnp('fwd', `{selector: all(), applyOnForward: true, types: [Egress], egress: [{action: Allow}]}`) +
      gnp('both', `{selector: all(), types: [Ingress]}`));
    // Stored values are taken as stored (a manifest's empty types is defaulted by calicoctl rules).
    const both = input.find((r) => r.kind === 'GlobalNetworkPolicy' && r.metadata.name === 'both') as { spec: { types?: string[] } };
    both.spec.types = [];
    const { plan } = computeNodePlan({ node: 'gw', resources: input });
    const ep = plan.endpoints[0]!;
    const keys = (ts: { policies: string[] }[]) => ts.flatMap((t) => t.policies);
    expect(keys(ep.ingress.untracked)).toEqual(['default/untracked']);
    expect(keys(ep.egress.untracked)).toEqual(['default/untracked']);
    expect(keys(ep.ingress.preDNAT)).toEqual(['default/pre']);
    expect(keys(ep.ingress.normal)).toEqual(['default/both']);
    expect(keys(ep.egress.normal)).toEqual(['default/both', 'default/fwd']);
    expect(keys(ep.egress.forward)).toEqual(['default/fwd']);
    expect(keys(ep.ingress.forward)).toEqual([]);
    expect(ep.ingress.untracked[0]!.defaultAction).toBe('Pass');
    expect(ep.ingress.preDNAT[0]!.defaultAction).toBe('Pass');
    expect(ep.ingress.normal[0]!.defaultAction).toBe('Deny');
  });

  test('orders tiers by order then name, missing tiers last; policies by order then name', () => {
    const { plan, warnings } = computeNodePlan({
      node: 'gw',
      resources: resources(HEPS + `---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: first}
spec: {order: 10, defaultAction: Pass}
` + gnp('z', `{tier: first, selector: all(), order: 5}`) + gnp('a', `{tier: first, selector: all(), order: 5}`) +
        gnp('unordered', `{tier: first, selector: all()}`) + gnp('d', `{selector: all(), order: 1}`) + gnp('ghost', `{tier: nowhere, selector: all()}`)),
    });
    const tiers = plan.endpoints[0]!.ingress.normal;
    expect(tiers.map((t) => [t.tier, t.defaultAction, t.policies])).toEqual([
      ['first', 'Pass', ['first/a', 'first/z', 'first/unordered']],
      ['default', 'Deny', ['default/d']],
      ['nowhere', 'Deny', ['nowhere/ghost']],
    ]);
    expect(warnings.some((w) => w.includes("tier 'nowhere'"))).toBe(true);
  });

  test('named ports: members from endpoints matching the side selector, filtered by rule protocol', () => {
    const { plan } = computeNodePlan({
      node: 'gw',
      resources: resources(HEPS + gnp('np', `{selector: all(), egress: [{action: Allow, protocol: TCP, destination: {selector: "role == 'client'", ports: [web]}}]}`)),
    });
    expect(plan.portSets).toHaveLength(1);
    expect(plan.portSets[0]!.v4).toEqual([['198.18.1.2', 6, 80]]);
    expect(plan.portSets[0]!.v6).toEqual([['fd00:1::2', 6, 80]]);
    const rule = plan.policies[0]!.egress[0]!;
    expect(rule.dst.namedPortSet).toBe(plan.portSets[0]!.id);
    expect(rule.dst.set).toBe(plan.ipSets[0]!.id);
  });

  test('selector and notSelector fold into one set; a lone notSelector is a negative match', () => {
    const { plan } = computeNodePlan({
      node: 'gw',
      resources: resources(HEPS + gnp('p', `{selector: all(), ingress: [
        {action: Allow, source: {selector: "role == 'client'", notSelector: "has(zone)"}},
        {action: Deny, source: {notSelector: "role == 'client'"}}]}`)),
    });
    const [a, b] = plan.policies[0]!.ingress;
    expect(a!.src.set).toBeDefined();
    expect(a!.src.notSet).toBeUndefined();
    expect(plan.ipSets.find((s) => s.id === a!.src.set)!.selector).toBe('(role == "client" && !has(zone))');
    expect(b!.src.notSet).toBeDefined();
    expect(b!.src.set).toBeUndefined();
  });

  test('missing profiles are reported and left out of the plan; default-allow is built in', () => {
    const { plan, warnings } = computeNodePlan({
      node: 'n1',
      resources: resources(`apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: h}
spec: {node: n1, interfaceName: eth0, profiles: [gone, projectcalico-default-allow]}`),
    });
    expect(plan.profiles.map((p) => p.name)).toEqual(['projectcalico-default-allow']);
    expect(plan.endpoints[0]!.profiles).toEqual(['gone', 'projectcalico-default-allow']);
    expect(warnings.some((w) => w.includes("profile 'gone'"))).toBe(true);
  });

  test('output does not depend on input order', () => {
    const rs = resources(HEPS + gnp('a', `{selector: all(), ingress: [{action: Allow, source: {selector: "role == 'client'"}}]}`) + gnp('b', `{selector: all(), order: 3}`));
    const one = computeNodePlan({ node: 'gw', resources: rs });
    const two = computeNodePlan({ node: 'gw', resources: [...rs].reverse() });
    expect(JSON.stringify(two.plan)).toBe(JSON.stringify(one.plan));
  });

  test('failsafes: Felix defaults, then FelixConfiguration default and node.<name>, then local config', () => {
    const felix = `---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {failsafeInboundHostPorts: [{protocol: TCP, port: 2222}], failsafeOutboundHostPorts: []}
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: node.gw}
spec: {failsafeInboundHostPorts: [{protocol: UDP, port: 161, net: 198.18.0.0/16}]}
`;
    const base = computeNodePlan({ node: 'x', resources: [] }).plan.failsafes;
    expect(base.inbound.map((r) => `${r.protocol}:${r.port}`)).toContain('tcp:22');
    expect(base.outbound.map((r) => `${r.protocol}:${r.port}`)).toContain('udp:53');
    const other = computeNodePlan({ node: 'other', resources: resources(felix) }).plan.failsafes;
    expect(other).toEqual({ inbound: [{ protocol: 'tcp', port: 2222 }], outbound: [] });
    const gw = computeNodePlan({ node: 'gw', resources: resources(felix) }).plan.failsafes;
    expect(gw.inbound).toEqual([{ protocol: 'udp', port: 161, net: '198.18.0.0/16' }]);
    const local = computeNodePlan({ node: 'gw', resources: resources(felix), localFailsafes: { inbound: [{ protocol: 'tcp', port: 22 }] } }).plan.failsafes;
    expect(local.inbound).toEqual([{ protocol: 'tcp', port: 22 }]);
  });
});

describe('resolveDispatch', () => {
  const ep = (name: string, interfaceName: string, expectedIPs: string[] = []) => ({
    name, interfaceName, expectedIPs, profiles: [],
    ingress: { untracked: [], preDNAT: [], normal: [], forward: [] }, egress: { untracked: [], normal: [], forward: [] },
  });
  test('named interface, expectedIP match, alphabetical winner, wildcard fallback', () => {
    const d = resolveDispatch(
      [ep('z-named', 'eth1'), ep('a-by-ip', '', ['198.18.1.1']), ep('b-by-ip', '', ['fd00:2::1']), ep('wild-b', '*'), ep('wild-a', '*'), ep('future', 'eth9')],
      [{ name: 'eth1', addresses: ['198.18.1.1'] }, { name: 'eth2', addresses: ['fd00:2::1', '198.18.2.1'] }, { name: 'lo', addresses: ['127.0.0.1'] }],
    );
    expect(d.byInterface).toEqual([['eth1', 'a-by-ip'], ['eth2', 'b-by-ip'], ['eth9', 'future']]);
    expect(d.wildcard).toBe('wild-a');
  });
});
