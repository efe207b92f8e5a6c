import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { resolveDispatch } from '../../../src/calc/dispatch.ts';
import { renderRuleset } from '../../../src/render/ruleset.ts';
import type { NodePlan } from '../../../src/plan/schema.ts';
import { resources } from '../calc/helpers.ts';

const RES = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: wild, labels: {pre: 'yes'}}
spec: {node: gw, interfaceName: "*", profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth1, labels: {role: gw}}
spec: {node: gw, interfaceName: eth1, profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: pre}
spec: {selector: "pre == 'yes'", preDNAT: true, applyOnForward: true, types: [Ingress], ingress: [{action: Deny, protocol: TCP, destination: {ports: [8080]}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: fwd}
spec: {selector: all(), applyOnForward: true, types: [Ingress], ingress: [{action: Allow}]}
`;

function render(extra = '', mutate: (p: NodePlan) => NodePlan = (p) => p) {
  const { plan } = computeNodePlan({ node: 'gw', resources: resources(RES + extra) });
  const final = mutate(plan);
  return { plan: final, doc: renderRuleset(final, resolveDispatch(final.endpoints, [{ name: 'eth1', addresses: [] }])).document };
}
const rulesOf = (doc: ReturnType<typeof render>['doc'], chain: string) =>
  doc.nftables.flatMap((c) => ('add' in c && 'rule' in c.add && c.add.rule.chain === chain ? [JSON.stringify(c.add.rule.expr)] : []));
const INVALID = '{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["invalid"]}}';
const ESTABLISHED = '{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}}';

describe('conntrack INVALID (Felix: dropped in every tracked HEP chain)', () => {
  test('normal and forward chains: established accept, then invalid drop, then failsafes', () => {
    const { doc } = render();
    for (const chain of ['fh-gw-eth1', 'th-gw-eth1', 'fh-wild', 'fhfw-gw-eth1']) {
      const rules = rulesOf(doc, chain);
      expect(rules[0]).toContain(ESTABLISHED);
      expect(rules[1]).toContain(INVALID);
      expect(rules[1]).toContain('"drop":null');
    }
    expect(rulesOf(doc, 'fh-gw-eth1')[2]).toContain('"target":"failsafe-in"');
  });

  test('the pre-DNAT chain drops invalid before its failsafes; untracked chains have no conntrack', () => {
    const { doc } = render(`---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: raw}
spec: {selector: "role == 'gw'", doNotTrack: true, applyOnForward: true, types: [Ingress], ingress: [{action: Allow, protocol: UDP}]}
`);
    const mfh = rulesOf(doc, 'mfh-wild');
    expect(mfh[0]).toContain(INVALID);
    expect(mfh[1]).toContain('"target":"failsafe-in"');
    expect(rulesOf(doc, 'rfh-gw-eth1').join()).not.toContain('"ct"');
  });

  test('disableConntrackInvalidCheck: true in FelixConfiguration (node.<name> over default) turns it off', () => {
    const fc = (name: string, v: boolean) => `---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: ${name}}
spec: {disableConntrackInvalidCheck: ${v}}
`;
    expect(render().plan.disableConntrackInvalidCheck).toBeUndefined();
    const off = render(fc('default', true));
    expect(off.plan.disableConntrackInvalidCheck).toBe(true);
    expect(JSON.stringify(off.doc)).not.toContain(INVALID);
    const back = render(fc('default', true) + fc('node.gw', false));
    expect(back.plan.disableConntrackInvalidCheck).toBeUndefined();
    expect(rulesOf(back.doc, 'fh-gw-eth1')[1]).toContain(INVALID);
    expect(render(fc('node.other', true)).plan.disableConntrackInvalidCheck).toBeUndefined();
  });
});

describe('pre-DNAT dispatch falls back to the wildcard HEP', () => {
  test('an interface whose own HEP has no pre-DNAT policy goes to the wildcard pre-DNAT chain', () => {
    const { doc } = render();
    const d = rulesOf(doc, 'd-mfh');
    expect(d.join()).not.toContain('"eth1"');
    expect(d[d.length - 1]).toContain('"target":"mfh-wild"');
    // Normal dispatch is unchanged: eth1 goes to its own HEP.
    expect(rulesOf(doc, 'd-fh')[0]).toContain('"eth1"');
    expect(rulesOf(doc, 'd-fh')[0]).toContain('"target":"fh-gw-eth1"');
  });

  test('an interface whose own HEP has pre-DNAT policy keeps its own chain', () => {
    const { doc } = render(`---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: pre-eth1}
spec: {selector: "role == 'gw'", preDNAT: true, applyOnForward: true, types: [Ingress], ingress: [{action: Deny, protocol: TCP, destination: {ports: [9090]}}]}
`);
    expect(rulesOf(doc, 'd-mfh')[0]).toContain('"target":"mfh-gw-eth1"');
  });
});

describe('ipv6Support: false', () => {
  test('every base chain accepts IPv6 first; no IPv6 rule or set is rendered', () => {
    const extra = `---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {ipv6Support: false}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: sel}
spec: {selector: all(), ingress: [{action: Allow, source: {selector: "role == 'gw'"}}, {action: Allow, protocol: ICMPv6}]}
`;
    const { plan, doc } = render(extra);
    expect(plan.ipv6Support).toBe(false);
    for (const base of ['raw-prerouting', 'raw-output', 'mangle-prerouting', 'filter-input', 'filter-output', 'filter-forward']) {
      expect(rulesOf(doc, base)[0]).toBe('[{"match":{"op":"==","left":{"meta":{"key":"nfproto"}},"right":"ipv6"}},{"accept":null}]');
    }
    const text = JSON.stringify(doc);
    expect(text).not.toContain('"ip6"');
    expect(text).not.toContain('-6"');
    expect(text).not.toContain('"right":58');
    // Default: IPv6 governed, no guard, and the plan carries no field.
    const on = render(extra.replace('ipv6Support: false', 'ipv6Support: true'));
    expect(on.plan.ipv6Support).toBeUndefined();
    expect(rulesOf(on.doc, 'filter-input')[0]).not.toContain('"ipv6"');
  });

  test('a plan without the optional fields (an old cached snapshot) renders as Felix defaults', () => {
    const { doc } = render('', (p) => {
      const { disableConntrackInvalidCheck: _a, ipv6Support: _b, ...old } = p;
      return old;
    });
    expect(rulesOf(doc, 'fh-gw-eth1')[1]).toContain(INVALID);
    expect(rulesOf(doc, 'filter-input')[0]).not.toContain('"ipv6"');
  });
});
