/**
 * `bun run demo` (as root): a one-machine lab. A gateway host in a network namespace runs the
 * outpost agent against a folder of Calico resources; two clients and a host behind the
 * gateway try connections, before and after a policy change. Everything it creates is removed.
 *
 *   c1 (198.18.1.2, "office") ── eth1 ┐
 *                                     gw (agent) ── eth3 ── behind (198.18.3.2)
 *   c2 (198.18.2.2, guest)    ── eth2 ┘
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standardLab, type Probe } from '../test/lab/lab.ts';

if (process.getuid?.() !== 0) {
  console.error('demo: run as root (it creates network namespaces and nftables rules)');
  process.exit(1);
}

const MAIN = join(import.meta.dir, '../src/main.ts');
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

const s = await standardLab();
const dir = await mkdtemp(join(tmpdir(), 'outpost-demo-'));
try {
  await Promise.all([
    s.lab.startResponder('gw', { tcp: [22, 80, 443] }),
    s.lab.startResponder('behind', { tcp: [80] }),
  ]);
  const table = async (title: string) => {
    const results = await Promise.all(FLOWS.map((f) => s.lab.probe(f.from, [f.probe])));
    console.log(`\n${title}`);
    FLOWS.forEach((f, i) => console.log(`  ${f.label.padEnd(42)} ${results[i]?.[0]?.ok ? 'allowed' : 'DENIED'}`));
  };
  await table('1. no outpost: everything is reachable');

  await writeFile(join(dir, 'heps.yaml'), HEPS);
  await writeFile(join(dir, 'policy.yaml'), POLICY_1);
  const agent = s.lab.spawn('gw', [process.execPath, MAIN, 'agent', '--node', 'gw', '--resources', dir, '--state', join(dir, '.state')]);
  await agent.waitFor(/ruleset in force/, 10_000);
  await table('2. agent running: office may reach gw on 80/443 and ping it; guests only reach the SSH failsafe');

  const applied = () => agent.stderr.split('\n').filter((l) => l.includes('ruleset in force')).length;
  const before = applied();
  await writeFile(join(dir, 'policy.yaml'), POLICY_2);
  for (let i = 0; i < 100 && applied() === before; i++) await Bun.sleep(50);
  await table('3. policy edited: 443 for everyone, 80 closed, forwarding to the inside denied (applyOnForward)');

  await agent.stop();
  await table('4. agent stopped: the ruleset stays in force');
  console.log('\nnft list table inet outpost (first lines):');
  const listing = await s.lab.exec('gw', ['nft', 'list', 'table', 'inet', 'outpost']);
  console.log(listing.stdout.split('\n').slice(0, 25).join('\n'));
} finally {
  await s.lab.destroy();
  await rm(dir, { recursive: true, force: true });
}
