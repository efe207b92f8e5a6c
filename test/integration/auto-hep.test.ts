/**
 * Auto host endpoints end to end: real etcd (Calico's layout) and real Mosquitto in a "hub"
 * namespace with `outpost relay --auto-host-endpoints`, and a real agent with
 * `--auto-host-endpoint` in namespace "n1" reaching the broker across a veth. The agent
 * reports its interfaces; the relay writes `n1-auto-hep` into etcd (read back with
 * `outpost get`), keeps it current as the namespace's addresses change, deletes it when the
 * report is cleared, and leaves an operator's HEP of the same name alone.
 *
 *   n1 (agent) eth0 198.18.40.2 ──── eth0 198.18.40.1 hub (etcd 127.0.0.1:2379, mosquitto :1883, relay)
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type LabProcess } from '../lab/lab.ts';
import { Mosquitto } from '../lab/mosquitto.ts';
import { NamespacedEtcd } from '../lab/namespaced-etcd.ts';
import { isRoot, MAIN } from './harness.ts';
import { inForce, logLines, waitApplied, waitLog, type LogLine } from './sync-harness.ts';
import { generateSigningKeyPair, privateKeyToPem, publicKeyToPem } from '../../src/platform/signing.ts';
import { interfacesTopic } from '../../src/protocol/topics.ts';
import { hepInEtcd, pollerWithLogs } from './auto-hep-lab.ts';

const HUB = '198.18.40.1';
const N1 = { v4: '198.18.40.2', v6: 'fd00:40::2' };
const PREFIX = 'outpost/v1';
const MQTT_TOOL = join(import.meta.dir, '../lab/mqtt-tool.ts');

let lab: Lab;
let dir: string;
let etcd: NamespacedEtcd;
let relay: LabProcess;
let agent: LabProcess;

const getHep = (name: string) => hepInEtcd(lab, etcd.url, name);
const until = pollerWithLogs(() => ({ relay, agent }));

async function publish(topic: string, payload: string): Promise<void> {
  const file = join(dir, `payload-${Date.now()}-${Math.random()}`);
  await writeFile(file, payload);
  await lab.exec('hub', [process.execPath, MQTT_TOOL, 'pub', 'mqtt://127.0.0.1:1883', topic, file, '--retain']);
}

const relayLines = (pred: (l: LogLine) => boolean) => logLines(relay).filter(pred);

describe.skipIf(!isRoot)('auto host endpoints: agent → Mosquitto → relay → etcd', () => {
  beforeAll(async () => {
    lab = await Lab.create();
    dir = await mkdtemp(join(tmpdir(), 'outpost-auto-hep-'));
    await lab.addHost('hub');
    await lab.addHost('n1');
    await lab.link('n1', 'eth0', [`${N1.v4}/24`, `${N1.v6}/64`], 'hub', 'eth0', [`${HUB}/24`, 'fd00:40::1/64']);
    const keys = generateSigningKeyPair();
    await writeFile(join(dir, 'relay.key'), privateKeyToPem(keys.privateKey), { mode: 0o600 });
    await writeFile(join(dir, 'relay.pub'), publicKeyToPem(keys.publicKey));
    [etcd] = await Promise.all([NamespacedEtcd.start(lab, 'hub', dir), Mosquitto.start(lab, 'hub', dir, [HUB, '127.0.0.1']), lab.startResponder('n1', { tcp: [80, 443] })]);
    relay = lab.spawn('hub', [process.execPath, MAIN, 'relay', '--config', '/dev/null', '--etcd', etcd.url, '--broker', 'mqtt://127.0.0.1:1883', '--signing-key', join(dir, 'relay.key'), '--auto-host-endpoints']);
    await waitLog(relay, (l) => /auto host endpoints: reading interfaces reports/.test(l.msg));
    agent = lab.spawn('n1', [
      process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'n1', '--broker', `mqtt://${HUB}:1883`, '--trust-key', join(dir, 'relay.pub'),
      '--state', join(dir, 'state-n1'), '--auto-host-endpoint', '--auto-host-endpoint-labels', 'site=north', '--auto-host-endpoint-labels', 'role=edge',
    ]);
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the agent\'s report becomes n1-auto-hep in etcd, in Calico\'s shape, and the agent enforces it', async () => {
    const hep = await until('n1-auto-hep to be written', () => getHep('n1-auto-hep'), (h) => h !== undefined);
    expect(hep['metadata']['labels']).toEqual({ site: 'north', role: 'edge', 'projectcalico.org/created-by': 'outpost-relay' });
    // Loopback and the link-local fe80:: address of eth0 are not the host's addresses.
    expect(hep['spec']).toEqual({ node: 'n1', interfaceName: '*', expectedIPs: [N1.v4, N1.v6], profiles: ['projectcalico-default-allow'] });
    // The relay computes n1's plan from it and the agent puts it in force.
    await waitLog(agent, inForce(), 30_000);
  }, 60_000);

  test('a policy selecting the labels from the agent\'s config is enforced on the host (real packets)', async () => {
    expect(await lab.tcp('hub', N1.v4, 80, { timeoutMs: 1000 })).toBe(true); // default-allow profile: open until a policy selects it
    const applied = logLines(agent).filter(inForce()).length;
    const policy = join(dir, 'edge-web.yaml');
    await writeFile(policy, "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: edge-web}\nspec:\n  selector: role == 'edge' && site == 'north'\n  types: [Ingress]\n  ingress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]\n");
    await lab.exec('hub', [process.execPath, MAIN, 'apply', '-f', policy, '--etcd', etcd.url]);
    await waitApplied(agent, applied + 1, { relay, timeoutMs: 30_000 });
    expect(await lab.tcp('hub', N1.v4, 443, { timeoutMs: 1000 })).toBe(true);
    expect(await lab.tcp('hub', N1.v4, 80, { timeoutMs: 1000 })).toBe(false);
    await lab.exec('hub', [process.execPath, MAIN, 'delete', '-f', policy, '--etcd', etcd.url]);
    await waitApplied(agent, applied + 2, { relay, timeoutMs: 30_000 });
  }, 60_000);

  test('an address added on the namespace\'s interface updates expectedIPs', async () => {
    await lab.exec('n1', ['ip', 'addr', 'add', '198.18.41.5/32', 'dev', 'eth0']);
    const hep = await until('expectedIPs to include 198.18.41.5', () => getHep('n1-auto-hep'), (h) => (h?.['spec']?.['expectedIPs'] ?? []).includes('198.18.41.5'));
    expect(hep!['spec']['expectedIPs']).toEqual([N1.v4, '198.18.41.5', N1.v6]);
    await lab.exec('n1', ['ip', 'addr', 'del', '198.18.41.5/32', 'dev', 'eth0']);
    const back = await until('expectedIPs without 198.18.41.5', () => getHep('n1-auto-hep'), (h) => !(h?.['spec']?.['expectedIPs'] ?? []).includes('198.18.41.5'));
    expect(back!['spec']['expectedIPs']).toEqual([N1.v4, N1.v6]);
  }, 60_000);

  test('a report that names another node than its topic is refused; the HEP stays', async () => {
    const before = await getHep('n1-auto-hep');
    await publish(interfacesTopic(PREFIX, 'n9'), JSON.stringify({ version: 1, node: 'n1', interfaces: [{ name: 'eth0', addresses: ['198.18.40.99'] }], labels: {} }));
    await waitLog(relay, (l) => l.node === 'n9' && /names node "n1"/.test(l.msg));
    expect(await getHep('n9-auto-hep')).toBeUndefined();
    expect(await getHep('n1-auto-hep')).toEqual(before);
  }, 30_000);

  test('an operator\'s HEP named <node>-auto-hep without outpost\'s label is never changed nor deleted', async () => {
    const manifest = join(dir, 'n2.yaml');
    await writeFile(manifest, 'apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: n2-auto-hep\n  labels: {owner: ops}\nspec:\n  node: n2\n  interfaceName: eth0\n  expectedIPs: [198.18.42.2]\n');
    await lab.exec('hub', [process.execPath, MAIN, 'apply', '-f', manifest, '--etcd', etcd.url]);
    const before = await getHep('n2-auto-hep');
    const refusals = () => relayLines((l) => l.node === 'n2' && /not written/.test(l.msg)).length;
    await publish(interfacesTopic(PREFIX, 'n2'), JSON.stringify({ version: 1, node: 'n2', interfaces: [{ name: 'eth0', addresses: ['198.18.42.9'] }], labels: { site: 'x' } }));
    await until('the relay to refuse the update', async () => refusals(), (n) => n >= 1);
    await publish(interfacesTopic(PREFIX, 'n2'), '');
    await until('the relay to refuse the delete', async () => refusals(), (n) => n >= 2);
    expect(relayLines((l) => l.node === 'n2' && /not written/.test(l.msg))[0]!.msg).toMatch(/without the label projectcalico\.org\/created-by: outpost-relay/);
    expect(await getHep('n2-auto-hep')).toEqual(before);
  }, 60_000);

  test('the node gone (agent stopped, its report cleared): n1-auto-hep is deleted', async () => {
    await agent.stop();
    await publish(interfacesTopic(PREFIX, 'n1'), '');
    await until('n1-auto-hep to be deleted', () => getHep('n1-auto-hep'), (h) => h === undefined);
    expect(relayLines((l) => l.node === 'n1' && /auto host endpoint deleted/.test(l.msg)).length).toBe(1);
    // Every write was a real change: created once, updated twice, deleted once.
    expect(relayLines((l) => l.node === 'n1' && /^auto host endpoint (created|updated|deleted)/.test(l.msg)).map((l) => l.msg.split(/[:;]/)[0])).toEqual([
      'auto host endpoint created', 'auto host endpoint updated', 'auto host endpoint updated', 'auto host endpoint deleted',
    ]);
  }, 60_000);
});
