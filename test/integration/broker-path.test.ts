/**
 * The agent's path to its broker survives DNS and IPv6, and a node converges after losing its
 * last HEP while offline. Real Mosquitto, real relay, real nft, a lab DNS server; the agent's
 * namespace gets its own resolv.conf through /etc/netns/<ns>/ (removed afterwards). Every HEP
 * here denies all on gw's link to the hub, with the failsafe ports set to none, so only the
 * agent's own control path can keep it connected.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { snapshotTopic } from '../../src/protocol/topics.ts';
import { isRoot, MAIN } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { HUB, SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';
import { Mosquitto } from '../lab/mosquitto.ts';
import type { LabProcess } from '../lab/lab.ts';

const DNS = join(import.meta.dir, '../lab/dns-responder.ts');
const MQTT_TOOL = join(import.meta.dir, '../lab/mqtt-tool.ts');
const NAME = 'broker.lab.test';
let h: SyncLab;
let netnsEtc: string;

/** gw's link to the hub denies everything: one HEP, no policy, no profile. */
function denyAllSnapshot(revision: string): Uint8Array {
  const { resources } = parseManifest(hep('gw-eth4', { iface: 'eth4' }), 'test');
  return encodeSnapshot({ node: 'gw', revision, plan: computeNodePlan({ node: 'gw', resources }).plan, issuedAt: Date.now() }, h.keys.relay.privateKey);
}

const agentArgv = (broker: string, state: string) => [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'gw', '--broker', broker, '--trust-key', h.path('relay.pub'), '--state', h.path(state), '--failsafe-inbound', 'none', '--failsafe-outbound', 'none'];
const count = (p: LabProcess, msg: string) => logLines(p).filter((l) => l.msg === msg).length;
async function startDns(): Promise<LabProcess> {
  const p = h.lab.spawn('hub', [process.execPath, DNS, '--listen', HUB.v4, '--records', JSON.stringify({ [NAME]: [HUB.v4] })]);
  await p.waitFor(/^ready$/, 5000);
  return p;
}

describe.skipIf(!isRoot)('the broker path', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    netnsEtc = `/etc/netns/${h.lab.ns('gw')}`;
    mkdirSync(netnsEtc, { recursive: true });
    writeFileSync(join(netnsEtc, 'resolv.conf'), `nameserver ${HUB.v4}\noptions timeout:1 attempts:1\n`);
  });
  afterAll(async () => {
    if (netnsEtc) rmSync(netnsEtc, { recursive: true, force: true });
    await h?.destroy();
  });

  test('broker by name: DNS is on the path, the addresses are cached, and a boot with DNS down reconnects once DNS returns', async () => {
    let dns = await startDns();
    await h.publish(snapshotTopic('outpost/v1', 'gw'), denyAllSnapshot('10'));
    let agent = h.lab.spawn('gw', agentArgv(`mqtt://${NAME}:1883`, 'state-dns'));
    await waitLog(agent, inForce('10'));
    await waitLog(agent, (l) => l.msg === 'connected to broker');
    await agent.stop();
    await dns.stop();

    // Boot with DNS down: the cached ruleset (deny-all) is applied with the cached address and DNS allowed.
    agent = h.lab.spawn('gw', agentArgv(`mqtt://${NAME}:1883`, 'state-dns'));
    await waitLog(agent, (l) => l.msg === 'ruleset in force' && l['from'] === 'cache');
    expect(logLines(agent).some((l) => l.msg === 'broker path from the last resolved addresses')).toBe(true);
    expect(await h.lab.tcp('gw', HUB.v4, 1883, { timeoutMs: 1000 })).toBe(true);
    expect(await h.lab.tcp('gw', HUB.v4, 1884, { timeoutMs: 500 })).toBe(false); // still deny-all otherwise
    await waitLog(agent, (l) => l.msg.startsWith('broker name not resolved'), 15_000);
    const before = count(agent, 'connected to broker');
    expect(before).toBe(0);
    dns = await startDns();
    await waitLog(agent, (l) => l.msg === 'connected to broker', 45_000);
    await agent.stop();
    await dns.stop();
  }, 90_000);

  test('an IPv6-only broker under deny-all: neighbour discovery stays open, the agent reconnects', async () => {
    // Its own folder: the config file is named after the host, and the hub's first broker has one.
    mkdirSync(h.path('v6'), { recursive: true });
    const v6 = await Mosquitto.start(h.lab, 'hub', h.path('v6'), [HUB.v6], 1884);
    const url = `mqtt://[${HUB.v6}]:1884`;
    const file = h.path('v6-snapshot');
    await writeFile(file, denyAllSnapshot('20'));
    await h.lab.exec('hub', [process.execPath, MQTT_TOOL, 'pub', url, snapshotTopic('outpost/v1', 'gw'), file, '--retain']);
    // A new host: no table left from the test before (it allowed only the IPv4 broker).
    await h.lab.exec('gw', ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
    const agent = h.lab.spawn('gw', agentArgv(url, 'state-v6'));
    await waitLog(agent, inForce('20'));
    await waitLog(agent, (l) => l.msg === 'connected to broker');
    // Forget every neighbour on the link, then make the agent reconnect: it must solicit again.
    await v6.stop();
    await h.lab.exec('gw', ['ip', 'neigh', 'flush', 'dev', 'eth4']);
    await h.lab.exec('hub', ['ip', 'neigh', 'flush', 'dev', 'eth0']);
    await v6.resume();
    await waitLog(agent, (l) => l.msg === 'connected to broker', 30_000, logLines(agent).findIndex((l) => l.msg === 'connected to broker') + 1);
    await agent.stop();
    await v6.stop();
  }, 90_000);

  test('a node whose last HEP went while it was offline converges, even after the broker lost everything', async () => {
    const dir = h.path('resources');
    mkdirSync(dir, { recursive: true });
    await writeFile(join(dir, 'hep.yaml'), hep('c2-eth0', { iface: 'eth0', node: 'c2', labels: { role: 'c2' } }));
    await writeFile(join(dir, 'policy.yaml'), gnp('web', `selector: role == 'c2'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]`));
    const relay = h.relay(['--resources', dir]);
    const c2 = () => h.lab.spawn('c2', [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'c2', '--broker', `mqtt://${HUB.v4}:1883`, '--trust-key', h.path('relay.pub'), '--state', h.path('state-c2')]);
    let agent = c2();
    await waitLog(agent, (l) => l.msg === 'ruleset in force' && l['endpoints'] === 1);
    expect(await h.tcp('gw', '198.18.2.2', 443)).toBe(false);
    await agent.stop();

    // Offline: the HEP goes (a later mtime keeps the folder's revision moving forward), the
    // relay sends its tombstone to nobody, then the broker restarts and forgets the queue.
    await rm(join(dir, 'hep.yaml'));
    const later = new Date(Date.now() + 5_000);
    await utimes(join(dir, 'policy.yaml'), later, later);
    await waitLog(relay, (l) => String(l.msg).includes('retained snapshot cleared'));
    await h.mosquitto.stop();
    await h.mosquitto.resume();

    agent = c2();
    await waitLog(agent, (l) => l.msg === 'ruleset in force' && l['from'] === 'cache' && l['endpoints'] === 1);
    await waitLog(agent, (l) => l.msg === 'ruleset in force' && l['from'] === 'relay' && l['endpoints'] === 0, 30_000);
    expect(await h.tcp('gw', '198.18.2.2', 443)).toBe(true);
    await agent.stop();
    await relay.stop();
  }, 90_000);
});
