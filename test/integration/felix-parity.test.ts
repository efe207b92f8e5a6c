/**
 * Where outpost once differed from Felix (v3.29–v3.31), shown with real packets: the agent runs
 * in the gateway namespace with this machine's nft, and flows from the client namespaces show
 * what passes. Each scenario failed on the code before its fix (see README "Felix parity notes").
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { EnforcementHarness, useEnforcementHarness, icmp, isRoot, tcp } from './harness.ts';
import { doc, gnp, hep } from './fixtures.ts';

let h: EnforcementHarness;
const GW1 = '198.18.1.1';
const GW2 = '198.18.2.1';
const GW1_6 = 'fd00:1::1';
const C1 = '198.18.1.2';
const C1_6 = 'fd00:1::2';
const ODD = join(import.meta.dir, 'odd-packets.ts');
const ALLOW_ALL = 'projectcalico-default-allow';

/** Runs odd-packets.ts in `from`; returns its one-word verdict. */
async function odd(from: string, args: string[]): Promise<string> {
  const r = await h.s.lab.exec(from, [process.execPath, ODD, ...args], { reject: false, timeoutMs: 10_000 });
  if (r.exitCode !== 0) throw new Error(`odd-packets ${args.join(' ')}: exit ${r.exitCode}\n${r.stderr}`);
  return r.stdout.trim();
}

const felixConfig = (spec: string) => doc('FelixConfiguration', 'default', spec);

describe.skipIf(!isRoot)('Felix parity (real nftables, real packets)', () => {
  useEnforcementHarness((x) => (h = x));

  test('conntrack INVALID is dropped before failsafes and policy, unless disableConntrackInvalidCheck', async () => {
    await h.enforce({ 'hep.yaml': hep('gw-eth1', { iface: 'eth1', profiles: [ALLOW_ALL] }) });
    // Strict TCP tracking: a bare ACK of no known connection is INVALID, not picked up mid-stream.
    await h.s.lab.exec('gw', ['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_tcp_loose=0']);
    // The port is allowed (a real connection works), yet the stray ACK never reaches gw's TCP
    // stack, which would answer it with a reset; port 22 is a failsafe and is dropped too.
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 22, true)])).toEqual([]);
    expect(await odd('c1', ['tcp-ack', C1, GW1, '80'])).toBe('silent');
    expect(await odd('c1', ['tcp-ack', C1, GW1, '22'])).toBe('silent');
    // eth2 has no HEP: the same packet is answered, so the probe does see resets.
    expect(await odd('c2', ['tcp-ack', '198.18.2.2', GW2, '80'])).toBe('rst');

    await h.enforce({ 'hep.yaml': hep('gw-eth1', { iface: 'eth1', profiles: [ALLOW_ALL] }), 'fc.yaml': felixConfig('disableConntrackInvalidCheck: true') });
    expect(await odd('c1', ['tcp-ack', C1, GW1, '80'])).toBe('rst');
  });

  test('pre-DNAT: an interface whose own HEP has no pre-DNAT policy gets the wildcard HEP\'s pre-DNAT policy', async () => {
    await h.enforce({
      'heps.yaml': hep('all', { iface: '*', labels: { edge: 'yes' }, profiles: [ALLOW_ALL] }) + hep('gw-eth1', { iface: 'eth1', profiles: [ALLOW_ALL] }),
      'pre.yaml': gnp('pre-deny-8080', `selector: edge == 'yes'\npreDNAT: true\napplyOnForward: true\ntypes: [Ingress]\ningress: [{action: Deny, protocol: TCP, destination: {ports: [8080]}}]`),
    });
    expect(await h.mismatches([
      tcp('c1', GW1, 8080, false), tcp('c1', GW1, 80, true), // eth1: own HEP, wildcard's pre-DNAT
      tcp('c2', GW2, 8080, false), tcp('c2', GW2, 80, true), // eth2: only the wildcard
    ])).toEqual([]);
  });

  test('namespaceSelector and serviceAccounts are converted as libcalico-go does', async () => {
    const heps = hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' }, profiles: [ALLOW_ALL] }) + hep('gw-eth2', { iface: 'eth2', labels: { role: 'gw' }, profiles: [ALLOW_ALL] }) +
      hep('c1-eth0', { node: 'c1', iface: 'eth0', ips: [C1], labels: { role: 'client' } });
    // Policy level: a positive namespaceSelector selects no HEP (the workload default-deny
    // leaves hosts alone); a negative one does.
    await h.enforce({ 'heps.yaml': heps, 'p.yaml': gnp('workload-deny', `namespaceSelector: team == 'a'\ntypes: [Ingress]`) });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c2', GW2, 80, true)])).toEqual([]);
    await h.enforce({ 'heps.yaml': heps, 'p.yaml': gnp('host-deny', `selector: role == 'gw'\nnamespaceSelector: team != 'a'\ntypes: [Ingress]`) });
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c2', GW2, 80, false)])).toEqual([]);

    // Rule level: global() with a notSelector is ONE positive set (known host addresses minus
    // the notSelector's), so c2 (no HEP) is not matched; a negative namespaceSelector matches
    // HEPs; a non-empty serviceAccounts matches none; an empty one adds nothing.
    await h.enforce({
      'heps.yaml': heps,
      'p.yaml': gnp('rules', `selector: role == 'gw'\ntypes: [Ingress]\ningress:
  - {action: Allow, protocol: TCP, source: {namespaceSelector: global(), notSelector: role == 'nobody'}, destination: {ports: [80]}}
  - {action: Allow, protocol: TCP, source: {namespaceSelector: '!has(team)'}, destination: {ports: [443]}}
  - {action: Allow, protocol: TCP, source: {serviceAccounts: {names: [api]}}, destination: {ports: [8080]}}
  - {action: Allow, protocol: TCP, source: {serviceAccounts: {}, selector: role == 'client'}, destination: {ports: [9090]}}`),
    });
    expect(await h.mismatches([
      tcp('c1', GW1, 80, true), tcp('c2', GW2, 80, false),
      tcp('c1', GW1, 443, true), tcp('c2', GW2, 443, false),
      tcp('c1', GW1, 8080, false), tcp('c1', GW1, 9090, true),
    ])).toEqual([]);
  });

  test('protocol ICMP matches only IPv4 and ICMPv6 only IPv6 by name, with no addresses or ipVersion; by number both', async () => {
    // Linux conntrack calls an IPv6 packet with next-header 1 INVALID, which is dropped before
    // policy (as in Felix); turn that check off so the rule's family alone decides.
    const noInvalidCheck = { 'fc.yaml': felixConfig('disableConntrackInvalidCheck: true') };
    await h.enforce({
      ...noInvalidCheck,
      'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' }, profiles: [ALLOW_ALL] }),
      'p.yaml': gnp('icmp-only', `selector: role == 'gw'\ntypes: [Ingress]\ningress: [{action: Allow, protocol: ICMPv6}, {action: Allow, protocol: ICMP}]`),
    });
    // Real ICMP of each family passes (and neighbour discovery with it)...
    expect(await h.mismatches([icmp('c1', GW1, true), icmp('c1', GW1_6, true), tcp('c1', GW1, 80, false)])).toEqual([]);
    // ...but an IPv4 packet carrying protocol 58, or an IPv6 one carrying protocol 1, is not
    // ICMP of its family: dropped, so gw never answers "protocol unreachable".
    expect(await odd('c1', ['proto', C1, GW1, '58'])).toBe('silent');
    expect(await odd('c1', ['proto', C1_6, GW1_6, '1'])).toBe('silent');
    // By number the family is not fixed (Felix converts only the names): both are let through.
    await h.enforce({
      ...noInvalidCheck,
      'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' }, profiles: [ALLOW_ALL] }),
      'p.yaml': gnp('icmp-only', `selector: role == 'gw'\ntypes: [Ingress]\ningress: [{action: Allow, protocol: 58}, {action: Allow, protocol: 1}]`),
    });
    expect(await odd('c1', ['proto', C1, GW1, '58'])).toBe('unreachable');
    expect(await odd('c1', ['proto', C1_6, GW1_6, '1'])).toBe('unreachable');
    // Control: without the HEP the same packets are answered.
    await h.reset();
    expect(await odd('c2', ['proto', '198.18.2.2', GW2, '58'])).toBe('unreachable');
    expect(await odd('c2', ['proto', 'fd00:2::2', 'fd00:2::1', '1'])).toBe('unreachable');
  });

  test('icmp and notICMP with a code apply with this machine\'s nft and are enforced', async () => {
    const base = { 'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) };
    await h.enforce({ ...base, 'p.yaml': gnp('echo-code-0', `selector: role == 'gw'\ningress: [{action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}]`) });
    expect(await h.s.lab.ping('c1', GW1)).toBe(true); // ping -c1: echo-request type 8 code 0
    expect(await h.s.lab.ping('c1', GW1, { icmpType: 8, icmpCode: 0 })).toBe(true);
    expect(await h.s.lab.ping('c1', GW1, { icmpType: 8, icmpCode: 1 })).toBe(false);

    // notICMP {8, 0} is "not (type 8 and code 0)": code 1 and other types are denied, 8/0 passes.
    await h.enforce({
      ...base,
      'p.yaml': gnp('not-echo-0', `selector: role == 'gw'\ningress: [{action: Deny, protocol: ICMP, notICMP: {type: 8, code: 0}}, {action: Allow, protocol: ICMP}]`),
    });
    expect(await h.s.lab.ping('c1', GW1, { icmpType: 8, icmpCode: 0 })).toBe(true);
    expect(await h.s.lab.ping('c1', GW1, { icmpType: 8, icmpCode: 1 })).toBe(false);
    expect(await h.s.lab.ping('c1', GW1, { icmpType: 13, icmpCode: 0 })).toBe(false);
  });

  test('ipv6Support: false leaves IPv6 ungoverned', async () => {
    const base = { 'hep.yaml': hep('gw-eth1', { iface: 'eth1' }) }; // no policy, no profile: deny
    await h.enforce(base);
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1_6, 80, false)])).toEqual([]);
    await h.enforce({ ...base, 'fc.yaml': felixConfig('ipv6Support: false') });
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1_6, 80, true), icmp('c1', GW1_6, true)])).toEqual([]);
  });

  test('::ffff:a.b.c.d in expectedIPs is the IPv4 address, for dispatch and for selector sets', async () => {
    const policy = gnp('from-clients', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, source: {selector: role == 'client'}, destination: {ports: [80]}}]`);
    const client = hep('c1-eth0', { node: 'c1', iface: 'eth0', ips: [`::ffff:${C1}`], labels: { role: 'client' } });
    // Dispatch: the gw HEP has no interfaceName, only a mapped address of eth1.
    await h.enforce({ 'heps.yaml': hep('gw-by-ip', { ips: [`::ffff:${GW1}`], labels: { role: 'gw' } }) + client, 'p.yaml': policy });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
    // Membership alone: gw's HEP names its interface; c1 is in the set only as IPv4.
    await h.enforce({ 'heps.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + client, 'p.yaml': policy });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
  });

  test('duplicate expectedIPs and profiles are harmless: the HEP is enforced as if listed once', async () => {
    await h.enforce({
      'hep.yaml': hep('gw-by-ip', { ips: [GW1, GW1], profiles: ['web-only', 'web-only'] }),
      'profile.yaml': doc('Profile', 'web-only', `ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]\negress: [{action: Allow}]`),
    });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
  });

  test('a manifest policy with types: [] gets calicoctl\'s default from its rules (egress-only here), so ingress is untouched', async () => {
    await h.enforce({
      'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' }, profiles: [ALLOW_ALL] }),
      'tier.yaml': doc('Tier', 't1', 'order: 100'),
      'p.yaml': gnp('t1.egress-pass', "tier: t1\nselector: role == 'gw'\ntypes: []\negress: [{action: Pass}]"),
    });
    // Read as both directions, ingress would meet tier t1 with no rule and be dropped there.
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('gw', C1, 80, true)])).toEqual([]);
  });

  test('rule nets need a prefix length: a policy edited to a bare IP is refused and its last valid version stays', async () => {
    const base = { 'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) };
    const allowFrom = (net: string, port: number) => gnp('from-c1', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, source: {nets: [${net}]}, destination: {ports: [${port}]}}]`);
    await h.enforce({ ...base, 'p.yaml': allowFrom(`${C1}/32`, 80) });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
    await h.writeResources({ ...base, 'p.yaml': allowFrom(C1, 443) });
    const r = await h.s.lab.exec('gw', h.agentArgs(['--once']), { reject: false, timeoutMs: 30_000 });
    expect(`${r.stdout}${r.stderr}`).toContain('must be a CIDR with a prefix length');
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
  });
});
