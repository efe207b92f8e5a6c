/**
 * `bun run demo` (as root): a one-machine site. A "hub" namespace runs `outpost relay` with a
 * folder of Calico resources and its embedded MQTT broker; a gateway namespace runs the agent,
 * which gets its signed snapshot over MQTT, caches it in SQLite and enforces it with nftables.
 * Clients try connections before, during and after a policy change, with the relay stopped, and
 * with the agent restarted while the relay is still down. Everything it creates is removed.
 *
 *   c1 (198.18.1.2, "office") ── eth1 ┐                   ┌ eth4 ── hub 198.18.4.2 (relay + broker)
 *                                     gw (agent, node gw) ┤
 *   c2 (198.18.2.2, guest)    ── eth2 ┘                   └ eth3 ── behind (198.18.3.2)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Probe } from '../test/lab/lab.ts';
import { HUB, SyncLab, inForce, logLines, waitLog } from '../test/integration/sync-harness.ts';

if (process.getuid?.() !== 0) {
  console.error('demo: run as root (it creates network namespaces and nftables rules)');
  process.exit(1);
}

const HEPS = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth1, labels: {role: gateway}}
spec: {node: gw, interfaceName: eth1, expectedIPs: [198.18.1.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth2, labels: {role: gateway}}
spec: {node: gw, interfaceName: eth2, expectedIPs: [198.18.2.1]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: office, labels: {zone: office}}
spec: {nets: [198.18.1.0/24]}
`;
const POLICY_1 = `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: gateway-web}
spec:
  selector: role == 'gateway'
  ingress:
    - {action: Allow, protocol: TCP, source: {selector: zone == 'office'}, destination: {ports: [80, 443]}}
    - {action: Allow, protocol: ICMP}
`;
const POLICY_2 = `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: gateway-web}
spec:
  selector: role == 'gateway'
  applyOnForward: true
  ingress:
    - {action: Allow, protocol: TCP, destination: {ports: [443]}}
    - {action: Deny, protocol: TCP, destination: {nets: [198.18.3.0/24]}}
`;

const FLOWS: { from: string; label: string; probe: Probe }[] = [
  { from: 'c1', label: 'c1 (office) -> gw tcp/80', probe: { kind: 'tcp', host: '198.18.1.1', port: 80 } },
  { from: 'c1', label: 'c1 (office) -> gw tcp/443', probe: { kind: 'tcp', host: '198.18.1.1', port: 443 } },
  { from: 'c1', label: 'c1 (office) -> gw ping', probe: { kind: 'icmp', host: '198.18.1.1' } },
  { from: 'c2', label: 'c2 (guest)  -> gw tcp/80', probe: { kind: 'tcp', host: '198.18.2.1', port: 80 } },
  { from: 'c2', label: 'c2 (guest)  -> gw tcp/443', probe: { kind: 'tcp', host: '198.18.2.1', port: 443 } },
  { from: 'c2', label: 'c2 (guest)  -> gw tcp/22 (failsafe)', probe: { kind: 'tcp', host: '198.18.2.1', port: 22 } },
  { from: 'c1', label: 'c1 (office) -> behind tcp/80 (forwarded)', probe: { kind: 'tcp', host: '198.18.3.2', port: 80 } },
];

const h = await SyncLab.create({ etcd: false });
try {
  const { lab } = h;
  await h.mosquitto.stop(); // the relay embeds its own broker here
  const dir = h.path('policies');
  await mkdir(dir);
  await lab.startResponder('behind', { tcp: [80] });
  const table = async (title: string) => {
    const results = await Promise.all(FLOWS.map((f) => lab.probe(f.from, [f.probe])));
    console.log(`\n${title}`);
    FLOWS.forEach((f, i) => console.log(`  ${f.label.padEnd(42)} ${results[i]?.[0]?.ok ? 'allowed' : 'DENIED'}`));
  };
  await table('1. no outpost: everything is reachable');

  await writeFile(join(dir, 'heps.yaml'), HEPS);
  await writeFile(join(dir, 'policy.yaml'), POLICY_1);
  const relayArgs = ['--resources', dir, '--listen', `${HUB.v4}:1883`];
  let relay = h.relay(relayArgs);
  await waitLog(relay, (l) => l.msg === 'snapshots published');
  let agent = h.agent('gw');
  await waitLog(agent, inForce());
  await table('2. relay and agent running: office may reach gw on 80/443 and ping it; guests only reach the SSH failsafe');

  const applied = () => logLines(agent).filter(inForce()).length;
  let before = applied();
  await writeFile(join(dir, 'policy.yaml'), POLICY_2);
  for (let i = 0; i < 200 && applied() === before; i++) await Bun.sleep(50);
  await table('3. policy edited on the relay: 443 for everyone, 80 closed, forwarding to the inside denied (applyOnForward)');

  await relay.stop();
  await writeFile(join(dir, 'policy.yaml'), POLICY_1);
  await waitLog(agent, (l) => l.msg.startsWith('broker unreachable'));
  await table('4. relay and broker stopped (and the policy edited back meanwhile): the agent keeps enforcing what it has');

  await agent.stop();
  await lab.exec('gw', ['nft', 'delete', 'table', 'inet', 'outpost']);
  agent = h.agent('gw');
  const fromCache = await waitLog(agent, inForce());
  await table(`5. agent restarted with no relay and an empty kernel table: enforcing from its SQLite cache (from: ${String(fromCache['from'])})`);

  before = applied();
  relay = h.relay(relayArgs);
  for (let i = 0; i < 300 && applied() === before; i++) await Bun.sleep(50);
  await table('6. relay back: the agent converges to the newest revision (the edit made while it was away)');

  console.log('\nnft list table inet outpost (first lines):');
  const listing = await lab.exec('gw', ['nft', 'list', 'table', 'inet', 'outpost']);
  console.log(listing.stdout.split('\n').slice(0, 25).join('\n'));
} finally {
  await h.destroy();
}
