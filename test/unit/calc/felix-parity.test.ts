import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { resolveDispatch } from '../../../src/calc/dispatch.ts';
import { entitySelectorText, policySelectorText } from '../../../src/calc/selector-conversion.ts';
import { hostIp, normaliseHostEndpoint } from '../../../src/calc/host-endpoints.ts';
import type { HostEndpoint } from '../../../src/model/host-endpoint.ts';
import { parseSelector } from '../../../src/selector/index.ts';
import { resources } from './helpers.ts';

const evaluate = (text: string | undefined, labels: Record<string, string>) => {
  const r = parseSelector(text ?? '');
  if (!r.ok) throw new Error(r.error);
  return r.selector.evaluate(labels);
};
const HEP = { role: 'gw' };
const hep = (name: string, labels: string, spec: string) => `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: ${name}, labels: ${labels}}
spec: ${spec}`;
const GW_HEP = hep('gw', '{role: gw}', '{node: gw, interfaceName: eth1}');
/** The node's own HostEndpoint (gw, on eth1), any more documents, and a GlobalNetworkPolicy `p`. */
const withPolicy = (policySpec: string, ...more: string[]) =>
  resources([GW_HEP, ...more, `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec: ${policySpec}
`].join('\n---'));

const WEP = { role: 'gw', 'projectcalico.org/namespace': 'prod', 'pcns.team': 'a', 'projectcalico.org/serviceaccount': 'api', 'pcsa.tier': 'web' };

describe('rule namespaceSelector / serviceAccounts (libcalico-go rules.go)', () => {
  test('namespaceSelector gets pcns. labels and is ANDed before the selector', () => {
    expect(entitySelectorText({ namespaceSelector: "team == 'a'", selector: "role == 'gw'" })).toBe('(pcns.team == "a" && role == "gw")');
    expect(entitySelectorText({ namespaceSelector: 'all()' })).toBe('has(projectcalico.org/namespace)');
    expect(entitySelectorText({ namespaceSelector: 'global()', selector: "role == 'gw'" })).toBe('(!has(projectcalico.org/namespace) && role == "gw")');
  });

  test('positive forms match no HEP but do match a namespaced endpoint; negative forms and global() match HEPs', () => {
    for (const ns of ["team == 'a'", 'all()', 'has(team)']) {
      expect(evaluate(entitySelectorText({ namespaceSelector: ns }), HEP)).toBe(false);
      expect(evaluate(entitySelectorText({ namespaceSelector: ns }), WEP)).toBe(true);
    }
    for (const ns of ["team != 'a'", '!has(team)', 'global()']) expect(evaluate(entitySelectorText({ namespaceSelector: ns }), HEP)).toBe(true);
    expect(evaluate(entitySelectorText({ namespaceSelector: 'global()' }), WEP)).toBe(false);
  });

  test('serviceAccounts: empty adds nothing; names and selector (pcsa.) are ANDed, before the selector', () => {
    expect(entitySelectorText({ serviceAccounts: {} })).toBeUndefined();
    expect(entitySelectorText({ serviceAccounts: {}, selector: "role == 'gw'" })).toBe('role == "gw"');
    const both = entitySelectorText({ serviceAccounts: { names: ['web', 'api', 'api'], selector: "tier == 'web'" }, selector: "role == 'gw'" });
    expect(both).toBe('((pcsa.tier == "web" && projectcalico.org/serviceaccount in {"api", "web"}) && role == "gw")');
    expect(evaluate(both, HEP)).toBe(false);
    expect(evaluate(both, WEP)).toBe(true);
    // A serviceAccounts selector of all() is not rewritten by libcalico-go: it matches everything.
    expect(evaluate(entitySelectorText({ serviceAccounts: { selector: 'all()' } }), HEP)).toBe(true);
  });

  test('a notSelector next to global() folds into the same positive set', () => {
    const { plan } = computeNodePlan({
      node: 'gw',
      resources: withPolicy(
        `{selector: all(), ingress: [{action: Allow, source: {namespaceSelector: global(), notSelector: "role == 'bad'"}}]}`,
        hep('peer', '{role: peer}', '{node: other, expectedIPs: [198.18.1.2]}'),
        hep('bad', '{role: bad}', '{node: other, expectedIPs: [198.18.1.3]}'),
      ),
    });
    const src = plan.policies[0]!.ingress[0]!.src;
    expect(src.notSet).toBeUndefined();
    expect(plan.ipSets.find((s) => s.id === src.set)!.v4).toEqual(['198.18.1.2/32']);
  });
});

describe('policy namespaceSelector / serviceAccountSelector (globalnetworkpolicyprocessor.go)', () => {
  test('ANDed into spec.selector with pcns./pcsa.; all() becomes a has() of the namespace or service account label', () => {
    expect(policySelectorText({ selector: "role == 'gw'" })).toBe("role == 'gw'");
    expect(policySelectorText({ selector: "role == 'gw'", namespaceSelector: "team == 'a'" })).toBe('(role == "gw" && pcns.team == "a")');
    expect(policySelectorText({ namespaceSelector: 'all()' })).toBe('has(projectcalico.org/namespace)');
    expect(policySelectorText({ selector: 'all()', namespaceSelector: '!has(team)' })).toBe('(has(projectcalico.org/namespace) && !has(pcns.team))');
    expect(policySelectorText({ serviceAccountSelector: 'all()' })).toBe('has(projectcalico.org/serviceaccount)');
  });

  test('positive forms select no HEP; negative forms do', () => {
    const plan = (spec: string) =>
      computeNodePlan({
        node: 'gw',
        resources: withPolicy(spec),
      }).plan.endpoints[0]!.ingress.normal.length;
    expect(plan(`{namespaceSelector: "team == 'a'", types: [Ingress]}`)).toBe(0);
    expect(plan(`{serviceAccountSelector: "has(x)", types: [Ingress]}`)).toBe(0);
    expect(plan(`{selector: "role == 'gw'", namespaceSelector: "team != 'a'", types: [Ingress]}`)).toBe(1);
    expect(plan(`{serviceAccountSelector: "!has(x)", types: [Ingress]}`)).toBe(1);
  });
});

describe('host endpoint normalisation', () => {
  const hep = (spec: Partial<HostEndpoint['spec']>): HostEndpoint =>
    ({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'h' }, spec: { node: 'gw', ...spec } }) as HostEndpoint;

  test('::ffff:a.b.c.d is the IPv4 address; other addresses are unchanged', () => {
    expect(hostIp('::ffff:198.18.1.1')).toBe('198.18.1.1');
    expect(hostIp('::ffff:c612:101')).toBe('198.18.1.1');
    expect(hostIp('fd00:1::1')).toBe('fd00:1::1');
    expect(hostIp('198.18.1.1')).toBe('198.18.1.1');
  });

  test('duplicate expectedIPs and profiles are dropped, first position kept', () => {
    const n = normaliseHostEndpoint(hep({ expectedIPs: ['198.18.1.1', 'fd00:1::1', '::ffff:198.18.1.1', 'fd00:1:0::1'], profiles: ['b', 'a', 'b'] }));
    expect(n.spec.expectedIPs).toEqual(['198.18.1.1', 'fd00:1::1']);
    expect(n.spec.profiles).toEqual(['b', 'a']);
  });

  test('in the plan: dispatch by a mapped expectedIP, set membership as IPv4, profiles de-duplicated', () => {
    const input = resources(`
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw, labels: {role: gw}}
spec: {node: gw, expectedIPs: ['::ffff:198.18.1.1'], profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec: {selector: all(), ingress: [{action: Allow, source: {selector: "role == 'gw'"}}]}
`);
    const h = input.find((r) => r.kind === 'HostEndpoint') as HostEndpoint;
    (h.spec as { profiles: string[] }).profiles = ['projectcalico-default-allow', 'x', 'projectcalico-default-allow'];
    const { plan } = computeNodePlan({ node: 'gw', resources: input });
    expect(plan.endpoints[0]!.expectedIPs).toEqual(['198.18.1.1']);
    expect(plan.endpoints[0]!.profiles).toEqual(['projectcalico-default-allow', 'x']);
    expect(plan.ipSets[0]!.v4).toEqual(['198.18.1.1/32']);
    expect(plan.ipSets[0]!.v6).toEqual([]);
    expect(resolveDispatch(plan.endpoints, [{ name: 'eth1', addresses: ['198.18.1.1'] }]).byInterface).toEqual([['eth1', 'gw']]);
  });
});

describe('protocol names fix the family (rule_convert.go ipVersionToProtoIPVersion)', () => {
  const plan = (protocol: string) =>
    computeNodePlan({
      node: 'gw',
      resources: withPolicy(`{selector: role == 'gw', ingress: [{action: Allow, protocol: ${protocol}}]}`),
    }).plan.policies[0]?.ingress[0];
  test('ICMP and ICMPv6 by name carry ipVersion 4 and 6; numbers 1 and 58 none', () => {
    expect(plan('ICMP')).toMatchObject({ protocol: 1, ipVersion: 4 });
    expect(plan('ICMPv6')).toMatchObject({ protocol: 58, ipVersion: 6 });
    expect(plan('1')?.ipVersion).toBeUndefined();
    expect(plan('58')?.ipVersion).toBeUndefined();
  });
});
