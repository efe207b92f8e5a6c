/**
 * The small-site path: `outpost relay --resources DIR --listen ADDR` (folder datastore and the
 * embedded broker, no other server) and an agent in another namespace that reaches it across
 * the lab network. Real packets decide every claim.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { HUB, SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';
import type { LabProcess } from '../lab/lab.ts';

const allowPort = (port: number) => gnp('web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);

let h: SyncLab;
let dir: string;
let relay: LabProcess;
let agent: LabProcess;

const relayArgs = () => ['--resources', dir, '--listen', `${HUB.v4}:1883`, '--state', h.path('relay-state')];
const flows = () => h.gwFlows();
const revisions = (p: LabProcess) => logLines(p).filter(inForce()).map((l) => String(l['revision']));

describe.skipIf(!isRoot)('relay with a folder datastore and the embedded broker', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    // The lab's own Mosquitto is not used here: the relay embeds the broker.
    await h.mosquitto.stop();
    dir = h.path('policies');
    await mkdir(dir);
    await writeFile(join(dir, 'heps.yaml'), hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }));
    await writeFile(join(dir, 'policy.yaml'), allowPort(80));
    relay = h.relay(relayArgs());
    await waitLog(relay, (l) => l.msg === 'snapshots published');
    agent = h.agent('gw');
    await waitLog(agent, inForce());
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('the agent enforces the relay\'s snapshot, and a file edit reaches it', async () => {
    expect(await flows()).toEqual({ 80: true, 443: false });
    const before = revisions(agent).length;
    await writeFile(join(dir, 'policy.yaml'), allowPort(443));
    await waitUntil(() => revisions(agent).length > before);
    expect(await flows()).toEqual({ 80: false, 443: true });
  });

  test('with the relay (and its broker) gone, enforcement stays as last applied', async () => {
    await relay.stop();
    // A clean exit on SIGTERM (not the SIGKILL that follows a hang), with an agent still connected.
    expect(await relay.exited).toBe(0);
    await waitLog(agent, (l) => l.msg.startsWith('broker unreachable'));
    expect(await flows()).toEqual({ 80: false, 443: true });
  });

  test('an agent restarted with no broker enforces from its cache', async () => {
    await agent.stop();
    // Remove what is in the kernel, so only the cache can bring it back.
    await h.lab.exec('gw', ['nft', 'delete', 'table', 'inet', 'outpost']);
    expect(await flows()).toEqual({ 80: true, 443: true });
    agent = h.agent('gw');
    const line = await waitLog(agent, inForce());
    expect(line['from']).toBe('cache');
    // The bound ("within a second"), from the agent's own clock: start line to applied.
    // Runtime start-up comes before the first line; scripts/bench/cached-start.ts measures it all.
    const started = logLines(agent).find((l) => l.msg === 'outpost agent starting')!;
    expect(Date.parse(line.time) - Date.parse(started.time)).toBeLessThan(1000);
    expect(await flows()).toEqual({ 80: false, 443: true });
  });

  test('a change made while the relay was down arrives once it is back', async () => {
    await writeFile(join(dir, 'policy.yaml'), allowPort(80));
    const before = revisions(agent).length;
    relay = h.relay(relayArgs());
    await waitUntil(() => revisions(agent).length > before, 15_000);
    expect(await flows()).toEqual({ 80: true, 443: false });
    await waitLog(agent, (l) => l.msg === 'connected to broker');
  });

  test('the broker failsafe: a policy that denies everything on the broker-facing interface cannot cut the agent off', async () => {
    await h.lab.startResponder('hub', { tcp: [8080] });
    await writeFile(join(dir, 'hub-side.yaml'), hep('gw-eth4', { iface: 'eth4', labels: { role: 'uplink' } }));
    const before = revisions(agent).length;
    await waitUntil(() => revisions(agent).length > before);
    // Everything else towards the hub is now denied (no policy, no profile)...
    expect(await h.tcp('gw', HUB.v4, 8080)).toBe(false);
    // ...yet the next change still arrives over MQTT.
    await writeFile(join(dir, 'policy.yaml'), allowPort(443));
    await waitUntil(() => revisions(agent).length > before + 1);
    expect(await flows()).toEqual({ 80: false, 443: true });
  });

  test('a relay restarted (--state) while a HEP file is invalid still publishes that HEP\'s last valid version', async () => {
    await relay.stop();
    await writeFile(join(dir, 'heps.yaml'), hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }).replace('node: gw', 'node: GW_1'));
    relay = h.relay(relayArgs());
    await waitLog(relay, (l) => l.msg === 'snapshots published');
    await waitLog(agent, (l) => l.msg === 'connected to broker');
    // A relay without the record would publish gw with no HEP (both ports open); give it time to arrive.
    await Bun.sleep(1500);
    expect(relay.stderr).toContain("HostEndpoint 'gw-eth1'");
    expect(await flows()).toEqual({ 80: false, 443: true });
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms\nagent:\n${agent.stderr.slice(-2000)}\nrelay:\n${relay.stderr.slice(-2000)}`);
    await Bun.sleep(25);
  }
}
