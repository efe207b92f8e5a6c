/**
 * Host-endpoint enforcement with real packets: the agent runs in the gateway namespace with
 * real nftables, and TCP/UDP/ICMP flows from the client namespaces show what is allowed.
 * Scenarios follow Felix's host-endpoint semantics; each applies a complete resource set with `--once`.
 */
import { describe, expect, test } from 'bun:test';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EnforcementHarness, useEnforcementHarness, MAIN, icmp, isRoot, tcp, udp } from './harness.ts';
import { doc, gnp, hep } from './fixtures.ts';

let h: EnforcementHarness;
const GW1 = '198.18.1.1';
const GW2 = '198.18.2.1';
const BEHIND = '198.18.3.2';

describe.skipIf(!isRoot)('host endpoint enforcement (real nftables, real packets)', () => {
  useEnforcementHarness((x) => (h = x));

  test('a HEP with no policy and no profile denies everything but failsafe SSH; other interfaces are unaffected', async () => {
    await h.enforce({ 'hep.yaml': hep('gw-eth1', { iface: 'eth1' }) });
    expect(await h.mismatches([
      tcp('c1', GW1, 80, false), tcp('c1', GW1, 22, true), udp('c1', GW1, 5353, false), icmp('c1', GW1, false),
      tcp('c2', GW2, 80, true), icmp('c2', GW2, true),
    ])).toEqual([]);
  });

  test('allow by port and by a selector resolved to a peer host endpoint', async () => {
    await h.enforce({
      'heps.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + hep('gw-eth2', { iface: 'eth2', labels: { role: 'gw' } }) +
        hep('c1-eth0', { node: 'c1', iface: 'eth0', ips: ['198.18.1.2'], labels: { role: 'client' } }),
      'policy.yaml': gnp('web', `
selector: role == 'gw'
ingress:
  - action: Allow
    protocol: TCP
    source: { selector: role == 'client' }
    destination: { ports: [80] }
  - action: Allow
    protocol: UDP
    destination: { ports: [5353] }`),
    });
    expect(await h.mismatches([
      tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false), udp('c1', GW1, 5353, true),
      tcp('c2', GW2, 80, false), udp('c2', GW2, 5353, true),
    ])).toEqual([]);
  });

  test('egress: a deny-by-default HEP only lets out what policy allows', async () => {
    await h.enforce({
      'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }),
      'policy.yaml': gnp('out', `
selector: role == 'gw'
types: [Egress]
egress:
  - action: Allow
    protocol: TCP
    destination: { ports: [80], nets: [198.18.1.2/32] }`),
    });
    expect(await h.mismatches([
      tcp('gw', '198.18.1.2', 80, true), tcp('gw', '198.18.1.2', 443, false), tcp('gw', '198.18.2.2', 443, true),
      // Ingress has no policy (types: Egress only) and no profile: denied.
      tcp('c1', GW1, 80, false),
    ])).toEqual([]);
  });

  test('a deny beats a later allow; equal order is broken by name', async () => {
    const base = { 'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) };
    await h.enforce({
      ...base,
      'p.yaml': gnp('a-allow', `order: 20\nselector: role == 'gw'\ningress: [{action: Allow}]`) +
        gnp('b-deny', `order: 10\nselector: role == 'gw'\ningress: [{action: Deny, protocol: TCP, destination: {ports: [80]}}]`),
    });
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1, 443, true)])).toEqual([]);

    await h.enforce({
      ...base,
      'p.yaml': gnp('a-deny', `order: 10\nselector: role == 'gw'\ningress: [{action: Deny, protocol: TCP, destination: {ports: [80]}}]`) +
        gnp('b-allow', `order: 10\nselector: role == 'gw'\ningress: [{action: Allow}]`),
    });
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1, 443, true)])).toEqual([]);

    await h.enforce({
      ...base,
      'p.yaml': gnp('a-allow', `order: 10\nselector: role == 'gw'\ningress: [{action: Allow}]`) +
        gnp('b-deny', `order: 10\nselector: role == 'gw'\ningress: [{action: Deny, protocol: TCP, destination: {ports: [80]}}]`),
    });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, true)])).toEqual([]);
  });

  test('Pass moves to the next tier; a tier without a verdict drops unless its default is Pass', async () => {
    await h.enforce({
      'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }),
      'tiers.yaml': doc('Tier', 'security', 'order: 100') + doc('Tier', 'platform', 'order: 200\ndefaultAction: Pass'),
      'p.yaml':
        gnp('sec-pass-web', `tier: security\nselector: role == 'gw'\ningress: [{action: Pass, protocol: TCP, destination: {ports: [80, 8080, 9090]}}]`) +
        gnp('plat-noop', `tier: platform\nselector: role == 'gw'\ningress: [{action: Deny, protocol: TCP, destination: {ports: [9090]}}]`) +
        gnp('default-web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]`),
    });
    expect(await h.mismatches([
      tcp('c1', GW1, 80, true), // passed by security, no verdict in platform (default Pass), allowed by default tier
      tcp('c1', GW1, 443, false), // security tier: no verdict, default Deny
      tcp('c1', GW1, 9090, false), // denied in platform
      tcp('c1', GW1, 8080, false), // reaches the default tier, no verdict: end-of-tier drop
    ])).toEqual([]);
  });

  test('profiles: default-allow, an explicit profile, and a missing profile', async () => {
    await h.enforce({ 'hep.yaml': hep('gw-eth1', { iface: 'eth1', profiles: ['projectcalico-default-allow'] }) });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, true), icmp('c1', GW1, true)])).toEqual([]);

    await h.enforce({
      'hep.yaml': hep('gw-eth1', { iface: 'eth1', profiles: ['web-only'] }),
      'profile.yaml': doc('Profile', 'web-only', `ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]\negress: [{action: Allow}]`),
    });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);

    await h.enforce({ 'hep.yaml': hep('gw-eth1', { iface: 'eth1', profiles: ['no-such-profile', 'projectcalico-default-allow'] }) });
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1, 22, true)])).toEqual([]);
  });

  test('a policy that selects the HEP makes its direction default-deny; profiles are then skipped', async () => {
    await h.enforce({
      'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' }, profiles: ['projectcalico-default-allow'] }),
      'p.yaml': gnp('only-80', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]`),
    });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false), tcp('gw', '198.18.1.2', 443, true)])).toEqual([]);
  });

  test('named HEP, wildcard fallback, HEP picked by expectedIP, alphabetical first wins', async () => {
    await h.enforce({
      'heps.yaml': hep('all-ifaces', { iface: '*' }) + hep('gw-eth2', { iface: 'eth2', profiles: ['projectcalico-default-allow'] }),
    });
    expect(await h.mismatches([
      tcp('c1', GW1, 80, false), tcp('c2', GW2, 80, true), tcp('behind', '198.18.3.1', 80, false), tcp('c1', GW1, 22, true),
      // lo is exempt from the wildcard HEP by default, so local services keep working.
      tcp('gw', '127.0.0.1', 80, true),
    ])).toEqual([]);
    // Felix's behaviour on request: lo falls to the wildcard HEP too.
    await h.enforce({ 'heps.yaml': hep('all-ifaces', { iface: '*' }) }, ['--loopback', 'policy']);
    // Even SSH to itself: tcp/22 is an inbound failsafe only, and the SYN first leaves through lo's egress.
    expect(await h.mismatches([tcp('gw', '127.0.0.1', 80, false), tcp('gw', '127.0.0.1', 22, false), tcp('c1', GW1, 22, true)])).toEqual([]);

    // A HEP with no interfaceName governs the interface that holds one of its expectedIPs.
    await h.enforce({
      'heps.yaml': hep('all-ifaces', { iface: '*' }) + hep('by-ip', { ips: [GW1], profiles: ['projectcalico-default-allow'] }),
    });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c2', GW2, 80, false)])).toEqual([]);

    // Two HEPs on one interface: only the alphabetically first is active.
    await h.enforce({ 'heps.yaml': hep('a-deny', { iface: 'eth1' }) + hep('b-allow', { iface: 'eth1', profiles: ['projectcalico-default-allow'] }) });
    expect(await h.mismatches([tcp('c1', GW1, 80, false)])).toEqual([]);
    await h.enforce({ 'heps.yaml': hep('a-allow', { iface: 'eth1', profiles: ['projectcalico-default-allow'] }) + hep('b-deny', { iface: 'eth1' }) });
    expect(await h.mismatches([tcp('c1', GW1, 80, true)])).toEqual([]);
  });

  test('named ports resolve through the endpoint ports and expectedIPs', async () => {
    await h.enforce({
      'hep.yaml': hep('gw-eth1', { iface: 'eth1', ips: [GW1], labels: { role: 'gw' }, ports: '[{name: http-alt, protocol: TCP, port: 8080}, {name: dns-alt, protocol: UDP, port: 5353}]' }),
      'p.yaml': gnp('named', `selector: role == 'gw'\ningress:\n  - {action: Allow, protocol: TCP, destination: {ports: [http-alt, 443]}}\n  - {action: Allow, destination: {ports: [dns-alt]}}`),
    });
    expect(await h.mismatches([
      tcp('c1', GW1, 8080, true), tcp('c1', GW1, 443, true), tcp('c1', GW1, 80, false), udp('c1', GW1, 5353, true), udp('c1', GW1, 53, false),
    ])).toEqual([]);
  });

  test('notNets and notSelector', async () => {
    const heps = hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + hep('gw-eth2', { iface: 'eth2', labels: { role: 'gw' } }) +
      hep('c1-eth0', { node: 'c1', ips: ['198.18.1.2'], labels: { role: 'client' } });
    await h.enforce({
      'heps.yaml': heps,
      'p.yaml': gnp('not-c1-net', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, source: {notNets: [198.18.1.0/24]}, destination: {ports: [80]}}]`),
    });
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c2', GW2, 80, true)])).toEqual([]);

    await h.enforce({
      'heps.yaml': heps,
      'p.yaml': gnp('not-client', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, source: {notSelector: role == 'client'}, destination: {ports: [80]}}]`),
    });
    // c2 has no HEP, so it is not "client": a lone notSelector matches unknown addresses too.
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c2', GW2, 80, true)])).toEqual([]);
  });

  test('preDNAT: a deny applies to local and forwarded traffic; an allow skips normal policy', async () => {
    await h.enforce({
      'heps.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + hep('gw-eth2', { iface: 'eth2', labels: { role: 'gw' }, profiles: ['projectcalico-default-allow'] }),
      'p.yaml':
        gnp('pre-deny-80', `selector: role == 'gw'\npreDNAT: true\napplyOnForward: true\ningress: [{action: Deny, protocol: TCP, source: {nets: [198.18.2.0/24]}, destination: {ports: [80]}}]`) +
        gnp('pre-allow-443', `selector: role == 'gw'\npreDNAT: true\napplyOnForward: true\ningress: [{action: Allow, protocol: TCP, source: {nets: [198.18.1.0/24]}, destination: {ports: [443]}}]`),
    });
    expect(await h.mismatches([
      tcp('c2', GW2, 80, false), tcp('c2', BEHIND, 80, false), tcp('c2', GW2, 443, true), tcp('c2', BEHIND, 443, true),
      // eth1's HEP has no normal policy and no profile (deny), but pre-DNAT allowed 443.
      tcp('c1', GW1, 443, true), tcp('c1', GW1, 80, false),
    ])).toEqual([]);
  });

  test('doNotTrack: allowed untracked traffic needs rules for both directions', async () => {
    const heps = hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } });
    await h.enforce({
      'heps.yaml': heps,
      'p.yaml': gnp('untracked-in', `selector: role == 'gw'\ndoNotTrack: true\napplyOnForward: true\ntypes: [Ingress]\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]`),
    });
    // The reply leaves untracked, so conntrack cannot vouch for it and egress (no policy, no profile) drops it.
    expect(await h.mismatches([tcp('c1', GW1, 80, false)])).toEqual([]);

    await h.enforce({
      'heps.yaml': heps,
      'p.yaml': gnp('untracked-both', `selector: role == 'gw'\ndoNotTrack: true\napplyOnForward: true\ntypes: [Ingress, Egress]\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]\negress: [{action: Allow, protocol: TCP, source: {ports: [80]}}]`),
    });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
  });

  test('applyOnForward policy governs forwarded traffic; without one forwarding is allowed', async () => {
    const heps = hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + hep('gw-eth3', { iface: 'eth3', labels: { role: 'gw-inside' } });
    await h.enforce({ 'heps.yaml': heps });
    // Host traffic is denied (no policy, no profile), forwarded traffic is not governed.
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', BEHIND, 80, true), tcp('c1', BEHIND, 443, true), tcp('behind', '198.18.1.2', 80, true)])).toEqual([]);

    await h.enforce({
      'heps.yaml': heps,
      'p.yaml': gnp('fwd', `selector: role == 'gw'\napplyOnForward: true\ningress: [{action: Allow, protocol: TCP, destination: {ports: [22, 80], nets: [198.18.3.0/24]}}]`),
    });
    expect(await h.mismatches([
      tcp('c1', BEHIND, 80, true), tcp('c1', BEHIND, 443, false), tcp('c2', BEHIND, 443, true),
      // The same policy is a normal policy for gw-eth1's host traffic; 198.18.1.1 is not in its nets.
      tcp('c1', GW1, 80, false),
    ])).toEqual([]);

    // Egress of the out-interface's HEP is checked too.
    await h.enforce({
      'heps.yaml': heps,
      'p.yaml': gnp('fwd-out', `selector: role == 'gw-inside'\napplyOnForward: true\ntypes: [Egress]\negress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]`),
    });
    expect(await h.mismatches([tcp('c1', BEHIND, 80, true), tcp('c1', BEHIND, 443, false), tcp('c2', BEHIND, 443, false)])).toEqual([]);
  });

  test('IPv6: nets, selector sets and ICMPv6 are rendered for the v6 family', async () => {
    await h.enforce({
      'heps.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + hep('c1-eth0', { node: 'c1', ips: ['fd00:1::2'], labels: { role: 'client' } }),
      'p.yaml': gnp('v6', `selector: role == 'gw'
types: [Ingress, Egress]
ingress:
  - {action: Allow, protocol: ICMPv6}
  - {action: Allow, protocol: TCP, source: {nets: ['fd00:1::/64']}, destination: {ports: [80]}}
  - {action: Allow, protocol: TCP, source: {selector: role == 'client'}, destination: {ports: [443]}}
egress:
  - {action: Allow, protocol: ICMPv6}`),
    });
    expect(await h.mismatches([
      tcp('c1', 'fd00:1::1', 80, true), tcp('c1', 'fd00:1::1', 443, true), tcp('c1', 'fd00:1::1', 8080, false),
      tcp('c1', GW1, 80, false), tcp('c1', GW1, 443, false), icmp('c1', 'fd00:1::1', true), icmp('c1', GW1, false),
    ])).toEqual([]);
  });

  test('ICMP type matching (icmp and notICMP)', async () => {
    const heps = hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } });
    await h.enforce({ 'heps.yaml': heps, 'p.yaml': gnp('echo', `selector: role == 'gw'\ningress: [{action: Allow, protocol: ICMP, icmp: {type: 8}}]`) });
    expect(await h.mismatches([icmp('c1', GW1, true), icmp('c1', GW1, false, 13)])).toEqual([]);

    await h.enforce({ 'heps.yaml': heps, 'p.yaml': gnp('not-echo', `selector: role == 'gw'\ningress: [{action: Allow, protocol: ICMP, notICMP: {type: 8}}]`) });
    expect(await h.mismatches([icmp('c1', GW1, false), icmp('c1', GW1, true, 13)])).toEqual([]);
  });

  test('failsafes: FelixConfiguration overrides the defaults, local config overrides FelixConfiguration', async () => {
    const files = {
      'heps.yaml': hep('gw-eth1', { iface: 'eth1' }),
      'felix.yaml': doc('FelixConfiguration', 'default', `failsafeInboundHostPorts: [{protocol: TCP, port: 80}]`),
    };
    await h.enforce(files);
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 22, false)])).toEqual([]);

    await h.enforce(files, ['--failsafe-inbound', 'tcp:443,tcp:22']);
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1, 22, true), tcp('c1', GW1, 443, true)])).toEqual([]);
  });

  test('relative --state and --resources are resolved at start (nft runs in /, so they must not be taken relative to it)', async () => {
    await h.writeResources({ 'hep.yaml': hep('gw-eth1', { iface: 'eth1' }) });
    const base = join(h.dir, '..');
    const args = [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'gw', '--resources', 'resources', '--state', 'relative-state', '--once'];
    const r = await h.s.lab.exec('gw', args, { cwd: base, reject: false, timeoutMs: 30_000 });
    expect(`${r.exitCode} ${r.stderr}`).toStartWith('0 ');
    expect((await stat(join(base, 'relative-state'))).isDirectory()).toBe(true);
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1, 22, true)])).toEqual([]);
  });
});
