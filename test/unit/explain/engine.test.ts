/** explain on plans computed from real resources: the verdict and the step that decided it. */
import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { resolveDispatch, type HostInterface } from '../../../src/calc/dispatch.ts';
import { explainPacket, ExplainError, type Packet } from '../../../src/explain/engine.ts';
import type { NodePlan } from '../../../src/plan/schema.ts';
import { resources } from '../calc/helpers.ts';

const HEP = (name: string, iface: string, extra = '') => `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: ${name}, labels: {host: gw}}
spec:
  node: gw
  interfaceName: "${iface}"
${extra}---
`;
const GNP = (name: string, spec: string) => `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: ${name}}
spec:
${spec.replace(/^\n/, '').replace(/^/gm, '  ')}
---
`;

const IFACES: HostInterface[] = [
  { name: 'eth0', addresses: ['198.18.0.1', 'fd00::1'] },
  { name: 'eth1', addresses: ['198.18.1.1'] },
  { name: 'lo', addresses: ['127.0.0.1', '::1'] },
];

function plan(yaml: string): NodePlan {
  return computeNodePlan({ node: 'gw', resources: resources(yaml) }).plan;
}

function explain(p: NodePlan, pk: Partial<Packet>, loopback: 'exempt' | 'policy' = 'exempt') {
  const packet: Packet = { direction: 'in', iface: 'eth0', src: '198.18.0.5', dst: '198.18.0.1', protocol: 6, srcPort: 40000, dstPort: 443, ...pk };
  return explainPacket(p, resolveDispatch(p.endpoints, IFACES), packet, { loopback });
}
const texts = (e: ReturnType<typeof explain>) => e.steps.map((s) => s.text).join('\n');

const WEB = GNP('allow-web', `
selector: host == 'gw'
ingress:
- action: Allow
  protocol: TCP
  destination: {ports: [443]}
egress:
- action: Allow
`);

describe('explain', () => {
  test('an allow names the policy and rule; a miss names the end of the tier', () => {
    const p = plan(HEP('gw-eth0', 'eth0') + WEB);
    const ok = explain(p, {});
    expect(ok.verdict).toBe('allow');
    expect(ok.steps.find((s) => s.kind === 'rule')).toMatchObject({ policy: 'default/allow-web', rule: 0, stage: 'normal ingress' });
    const no = explain(p, { dstPort: 80 });
    expect(no.verdict).toBe('deny');
    expect(no.steps.at(-1)?.kind).toBe('tier-end');
    expect(texts(no)).toContain('end of tier default');
  });

  test('an interface no host endpoint governs is allowed, and says so', () => {
    const p = plan(HEP('gw-eth0', 'eth0') + WEB);
    const e = explain(p, { iface: 'eth1', dst: '198.18.1.1', dstPort: 80 });
    expect(e.verdict).toBe('allow');
    expect(e.steps.map((s) => s.kind)).toEqual(['not-governed']);
  });

  test('conntrack: established is accepted, invalid dropped unless disableConntrackInvalidCheck', () => {
    const p = plan(HEP('gw-eth0', 'eth0') + WEB);
    expect(explain(p, { dstPort: 80, ct: 'established' }).verdict).toBe('allow');
    const inv = explain(p, { ct: 'invalid' });
    expect(inv.verdict).toBe('deny');
    expect(inv.steps.some((s) => s.kind === 'conntrack' && s.text.includes('invalid'))).toBe(true);
    const relaxed = { ...p, disableConntrackInvalidCheck: true };
    expect(explain(relaxed, { ct: 'invalid' }).verdict).toBe('allow');
  });

  test('failsafes accept before policy (inbound by destination port, from their net only)', () => {
    const p = plan(HEP('gw-eth0', 'eth0'));
    const withFs = { ...p, failsafes: { inbound: [{ protocol: 'tcp' as const, port: 22, net: '198.18.0.0/24' }], outbound: [] } };
    const e = explain(withFs, { dstPort: 22 });
    expect(e.verdict).toBe('allow');
    expect(e.steps.find((s) => s.kind === 'failsafe')?.text).toContain('failsafe inbound tcp:198.18.0.0/24:22');
    expect(explain(withFs, { dstPort: 22, src: '198.18.9.9' }).verdict).toBe('deny');
    expect(explain(withFs, { dstPort: 22, protocol: 17 }).verdict).toBe('deny');
  });

  test('no policy and no profile: the final drop; a profile allows; a missing profile drops', () => {
    expect(explain(plan(HEP('gw-eth0', 'eth0')), {}).steps.at(-1)?.kind).toBe('final-drop');
    const open = explain(plan(HEP('gw-eth0', 'eth0', '  profiles: [projectcalico-default-allow]\n')), {});
    expect(open.verdict).toBe('allow');
    expect(texts(open)).toContain('allowed by profile projectcalico-default-allow');
    const missing = explain(plan(HEP('gw-eth0', 'eth0', '  profiles: [nope]\n')), {});
    expect(missing.verdict).toBe('deny');
    expect(texts(missing)).toContain('profile nope does not exist');
  });

  test('Log continues, Pass skips the rest of the tier, Deny drops at once', () => {
    const yaml = HEP('gw-eth0', 'eth0', '  profiles: [projectcalico-default-allow]\n') + GNP('a-log-pass', `
order: 1
selector: host == 'gw'
ingress:
- action: Log
- action: Pass
  protocol: TCP
  destination: {ports: [443]}
`) + GNP('b-deny', `
order: 2
selector: host == 'gw'
ingress:
- action: Deny
`);
    const p = plan(yaml);
    const passed = explain(p, {});
    expect(passed.verdict).toBe('allow');
    expect(passed.steps.map((s) => s.kind)).toEqual(['stage', 'tier', 'log', 'pass', 'rule', 'profile']);
    const denied = explain(p, { dstPort: 80 });
    expect(denied.verdict).toBe('deny');
    expect(denied.steps.find((s) => s.kind === 'rule')).toMatchObject({ policy: 'default/b-deny', rule: 0 });
  });

  test('the wildcard HEP governs other interfaces, an interface-specific HEP wins, lo is exempt unless loopback: policy', () => {
    const eth1 = HEP('gw-eth1', 'eth1', '  profiles: [projectcalico-default-allow]\n').replace('labels: {host: gw}', 'labels: {other: x}');
    const p = plan(HEP('star', '*') + eth1 + WEB);
    const viaStar = explain(p, { dstPort: 80 });
    expect(viaStar.verdict).toBe('deny');
    expect(texts(viaStar)).toContain('wildcard HostEndpoint star');
    expect(explain(p, { iface: 'eth1', dst: '198.18.1.1', dstPort: 80 }).verdict).toBe('allow');
    const lo = explain(p, { iface: 'lo', src: '127.0.0.1', dst: '127.0.0.1', dstPort: 80 });
    expect(lo.verdict).toBe('allow');
    expect(lo.steps.map((s) => s.kind)).toContain('loopback');
    expect(explain(p, { iface: 'lo', src: '127.0.0.1', dst: '127.0.0.1', dstPort: 80 }, 'policy').verdict).toBe('deny');
  });

  test('untracked deny drops even established packets; untracked allow skips normal policy', () => {
    const yaml = HEP('gw-eth0', 'eth0') + GNP('raw', `
selector: host == 'gw'
doNotTrack: true
applyOnForward: true
ingress:
- action: Deny
  protocol: TCP
  destination: {ports: [25]}
- action: Allow
  protocol: TCP
  destination: {ports: [8080]}
`);
    const p = plan(yaml);
    const d = explain(p, { dstPort: 25, ct: 'established' });
    expect(d.verdict).toBe('deny');
    expect(d.steps.find((s) => s.kind === 'rule')?.stage).toBe('untracked ingress');
    const a = explain(p, { dstPort: 8080 });
    expect(a.verdict).toBe('allow');
    expect(a.untracked).toBe(true);
    // A reply to an untracked flow is not "established" to conntrack: the normal egress chain drops it as invalid.
    expect(explain(p, { direction: 'out', src: '198.18.0.1', dst: '198.18.0.5', srcPort: 8080, dstPort: 40000, ct: 'invalid' }).verdict).toBe('deny');
  });

  test('pre-DNAT: allow marks the packet past normal policy; a HEP without pre-DNAT policy falls to the wildcard\'s', () => {
    const pre = GNP('pre', `
selector: has(pre)
preDNAT: true
applyOnForward: true
ingress:
- action: Allow
  protocol: TCP
  destination: {ports: [9090]}
- action: Deny
  protocol: TCP
  destination: {ports: [8080]}
`);
    const star = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: star, labels: {pre: "y"}}
spec: {node: gw, interfaceName: "*"}
---
`;
    const p = plan(HEP('gw-eth0', 'eth0', '  profiles: [projectcalico-default-allow]\n') + star + pre);
    const d = explain(p, { dstPort: 8080 });
    expect(d.verdict).toBe('deny');
    expect(texts(d)).toContain('has no pre-DNAT policy, so interface eth0 falls to the wildcard HostEndpoint star');
    expect(explain(p, { dstPort: 9090 }).verdict).toBe('allow');
  });

  test('forward: no applyOnForward policy allows; one applies on the in- and out-interface', () => {
    const fwd = GNP('fwd', `
selector: host == 'gw'
applyOnForward: true
ingress:
- action: Allow
  source: {nets: [198.18.0.0/24]}
egress:
- action: Allow
  destination: {nets: [198.18.1.0/24]}
`);
    const none = plan(HEP('gw-eth0', 'eth0') + HEP('gw-eth1', 'eth1'));
    const f = { direction: 'forward' as const, iface: 'eth0', outIface: 'eth1', dst: '198.18.1.7' };
    expect(explain(none, f).verdict).toBe('allow');
    const p = plan(HEP('gw-eth0', 'eth0') + HEP('gw-eth1', 'eth1') + fwd);
    expect(explain(p, f).verdict).toBe('allow');
    expect(explain(p, { ...f, dst: '198.18.2.7' }).verdict).toBe('deny');
    expect(explain(p, { ...f, src: '198.18.9.9' }).verdict).toBe('deny');
    expect(() => explain(p, { direction: 'forward' })).toThrow(ExplainError);
  });

  test('ipv6Support false: IPv6 is not governed; IPv4 still is', () => {
    const p = { ...plan(HEP('gw-eth0', 'eth0')), ipv6Support: false };
    const six = explain(p, { src: 'fd00::5', dst: 'fd00::1' });
    expect(six.verdict).toBe('allow');
    expect(six.steps[0]?.kind).toBe('ipv6');
    expect(explain(p, {}).verdict).toBe('deny');
  });

  test('ICMP: protocol by name is one family; icmp type and notICMP with a code', () => {
    const p = plan(HEP('gw-eth0', 'eth0') + GNP('icmp', `
selector: host == 'gw'
ingress:
- action: Allow
  protocol: ICMP
  icmp: {type: 8}
- action: Allow
  protocol: ICMPv6
  notICMP: {type: 128, code: 0}
`));
    expect(explain(p, { protocol: 1, srcPort: undefined, dstPort: undefined }).verdict).toBe('allow');
    expect(explain(p, { protocol: 1, icmpType: 13, srcPort: undefined, dstPort: undefined }).verdict).toBe('deny');
    const v6 = { src: 'fd00::5', dst: 'fd00::1', protocol: 58, srcPort: undefined, dstPort: undefined };
    expect(explain(p, { ...v6, icmpType: 128, icmpCode: 0 }).verdict).toBe('deny');
    expect(explain(p, { ...v6, icmpType: 128, icmpCode: 1 }).verdict).toBe('allow');
    expect(explain(p, { ...v6, icmpType: 1 }).verdict).toBe('allow');
  });

  test('selector sets, notNets and notPorts are CIDR and port arithmetic', () => {
    const p = plan(HEP('gw-eth0', 'eth0') + `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: office, labels: {role: office}}
spec: {nets: [198.18.0.0/28, "fd00::/120"]}
---
` + GNP('sets', `
selector: host == 'gw'
ingress:
- action: Allow
  protocol: TCP
  source: {selector: role == 'office', notNets: [198.18.0.5/32]}
  destination: {notPorts: [8080]}
`));
    expect(explain(p, { src: '198.18.0.6' }).verdict).toBe('allow');
    expect(explain(p, { src: '198.18.0.5' }).verdict).toBe('deny');
    expect(explain(p, { src: '198.18.0.16' }).verdict).toBe('deny');
    expect(explain(p, { src: '198.18.0.6', dstPort: 8080 }).verdict).toBe('deny');
    // notNets with no IPv6 entry: the renderer writes no IPv6 rule at all.
    expect(explain(p, { src: 'fd00::6', dst: 'fd00::1' }).verdict).toBe('deny');
  });

  test('impossible packets are refused with the reason', () => {
    const p = plan(HEP('gw-eth0', 'eth0'));
    expect(() => explain(p, { src: 'nope' })).toThrow('source "nope" is not an IP address');
    expect(() => explain(p, { src: 'fd00::1' })).toThrow('not the same IP version');
  });
});
