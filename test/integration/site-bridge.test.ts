/**
 * A site behind an intermittent WAN link: the site's own Mosquitto is bridged to the central
 * one (snapshots in, statuses out, persistent session), and the site's agent talks only to the
 * site broker. The link is cut, policy changes at the datastore, the agent keeps enforcing the
 * old revision; the link comes back and the agent converges. Real etcd, two real Mosquittos,
 * the real relay, real nft, real packets.
 *
 *   c1 ── eth1 ┐                    ┌ eth4 ── hub 198.18.4.2 (etcd, central mosquitto, relay)
 *              gw (agent "gw") eth5 ┤                │ eth1 198.18.6.1
 *                                   └ site eth1      │  WAN
 *                                     198.18.5.2 ─── site eth0 198.18.6.2 (site mosquitto, bridge → 198.18.4.2)
 *
 * The cut drops every packet on the site's WAN interface (nft in the site namespace), as a
 * flaky link does: no reset, no interface event, so the bridge must notice by its keepalive.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { isRoot, MAIN } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';
import { Mosquitto } from '../lab/mosquitto.ts';
import type { LabProcess } from '../lab/lab.ts';
import { join } from 'node:path';
import { snapshotTopic, statusTopic } from '../../src/protocol/topics.ts';
import { decodeSnapshotHeader } from '../../src/protocol/snapshot.ts';
import { decodeStatus } from '../../src/protocol/status.ts';

const SITE = { lan: '198.18.5.2', wan: '198.18.6.2' };
const HUB_WAN = '198.18.6.1';
const PREFIX = 'outpost/v1';
const TOPIC = snapshotTopic(PREFIX, 'gw');
const MQTT_TOOL = join(import.meta.dir, '../lab/mqtt-tool.ts');
const allowOnGw = (port: number) => gnp('gw-web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);
const CUT = [
  'add table inet wan-cut',
  'add chain inet wan-cut in { type filter hook input priority -10; }',
  'add chain inet wan-cut out { type filter hook output priority -10; }',
  'add rule inet wan-cut in iifname "eth0" drop',
  'add rule inet wan-cut out oifname "eth0" drop',
].join('; ');

let h: SyncLab;
let site: Mosquitto;
let relay: LabProcess;
let agent: LabProcess;

/** The revision of the retained snapshot for gw on a broker reachable from `host` at 127.0.0.1 (signature checked). */
async function retainedRevision(host: 'hub' | 'site'): Promise<string | undefined> {
  const r = await h.lab.exec(host, [process.execPath, MQTT_TOOL, 'get', 'mqtt://127.0.0.1:1883', TOPIC, '400']);
  if (!r.stdout) return undefined;
  const d = decodeSnapshotHeader(new Uint8Array(Buffer.from(r.stdout, 'base64')), { publicKey: h.keys.relay.publicKey, node: 'gw' });
  return d.ok ? d.header.revision : undefined;
}

/** Waits until the relay has published a snapshot for gw with a revision above `above`; returns it. */
async function centralRevisionAbove(above: string): Promise<string> {
  const end = Date.now() + 20_000;
  for (;;) {
    const r = await retainedRevision('hub');
    if (r !== undefined && BigInt(r) > BigInt(above)) return r;
    if (Date.now() > end) throw new Error(`the relay published no revision above ${above}:\n${relay.stderr.slice(-2000)}`);
    await Bun.sleep(200);
  }
}

const inForceRevision = () => String(logLines(agent).filter(inForce()).at(-1)?.['revision']);

describe.skipIf(!isRoot)('a site broker bridged to the central one, over a link that drops', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: true });
    const { lab } = h;
    await lab.addHost('site');
    await Promise.all([
      lab.link('hub', 'eth1', [`${HUB_WAN}/24`], 'site', 'eth0', [`${SITE.wan}/24`]),
      lab.link('gw', 'eth5', ['198.18.5.1/24'], 'site', 'eth1', [`${SITE.lan}/24`]),
    ]);
    // The central broker listens on the hub's own address; the site reaches it over the WAN link.
    await lab.route('site', '198.18.4.2/32', HUB_WAN);
    site = await Mosquitto.start(lab, 'site', h.dir, [SITE.lan, '127.0.0.1'], 1883, undefined, {
      bridge: { name: 'central', address: '198.18.4.2:1883', topics: [`${PREFIX}/nodes/+/snapshot in 1`, `${PREFIX}/nodes/+/status out 1`], keepaliveS: 5 },
    });
    await h.apply('heps.yaml', hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }));
    await h.apply('gw-policy.yaml', allowOnGw(80));
    relay = h.relay();
    agent = lab.spawn('gw', [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'gw', '--broker', `mqtt://${SITE.lan}:1883`, '--trust-key', h.path('relay.pub'), '--state', h.path('state-gw')]);
    await waitLog(agent, inForce(), 30_000);
  }, 120_000);
  afterAll(async () => {
    await h?.destroy();
  });

  test('through the bridge, the site agent enforces revision A and reports back to the centre', async () => {
    expect(await h.gwFlows()).toEqual({ 80: true, 443: false });
    const a = inForceRevision();
    expect(await retainedRevision('site')).toBe(a);
    expect(await retainedRevision('hub')).toBe(a);
  });

  test('link cut: the policy changes centrally, the site keeps enforcing A; link back: it converges to B', async () => {
    const a = inForceRevision();
    await h.lab.exec('site', ['nft', CUT]);
    // The central broker notices the bridge is gone (keepalive 5 s): from here on it queues
    // for the bridge's persistent session instead of sending into the void.
    await waitFor(() => /central-bridge.*(exceeded timeout|disconnect)/i.test(h.mosquitto.log), 30_000, 'the central broker never dropped the bridge session');

    await h.apply('gw-policy.yaml', allowOnGw(443));
    const b = await centralRevisionAbove(a);
    // B is retained centrally, but has not crossed the cut: the site still holds A, the agent enforces A.
    await Bun.sleep(2000);
    expect(await retainedRevision('site')).toBe(a);
    expect(inForceRevision()).toBe(a);
    expect(await h.gwFlows()).toEqual({ 80: true, 443: false });

    await h.lab.exec('site', ['nft', 'delete', 'table', 'inet', 'wan-cut']);
    await waitLog(agent, inForce(b), 90_000);
    expect(await h.gwFlows()).toEqual({ 80: false, 443: true });
    // The site broker retains B (a restarting agent gets B, not A), and the agent's status with
    // B's hash reached the centre through the bridge.
    expect(await retainedRevision('site')).toBe(b);
    const centralHash = decodeSnapshotHeader((await h.retained(TOPIC))!, { publicKey: h.keys.relay.publicKey, node: 'gw' });
    await waitFor(async () => {
      const raw = await h.retained(statusTopic(PREFIX, 'gw'));
      const st = raw ? decodeStatus(raw) : undefined;
      return st?.ok === true && centralHash.ok && st.status.hash === centralHash.header.hash && st.status.state === 'in-sync';
    }, 30_000, 'the agent\'s status for B never reached the central broker');
  }, 240_000);
});

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}\ncentral:\n${h.mosquitto.log.slice(-1500)}\nsite:\n${site.log.slice(-1500)}\nagent:\n${agent.stderr.slice(-1500)}`);
    await Bun.sleep(250);
  }
}
