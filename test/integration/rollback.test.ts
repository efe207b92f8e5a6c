/**
 * Commit confirmed: a revision from the relay that cuts the agent off from something it reached
 * before (its broker, a configured probe target) is rolled back within the confirm window; one
 * that only "breaks" a probe that was already failing stays. Real namespaces, real packets.
 *
 * The broker case must get past the agent's own broker failsafe (TCP to the broker URL's address
 * is always allowed). It does so the way a site can: gw reaches its broker through a local DNAT
 * (198.18.4.2:1883, the URL, is translated to 198.18.4.3:1883 in gw's nat output hook, before
 * the filter sees it), so the failsafe for the URL's address does not cover the packets, and a
 * deny-all HostEndpoint on the hub-facing interface really cuts the path. The established MQTT
 * connection survives any ruleset (conntrack), so the test resets it (`ss -K`), as a broker
 * restart or a NAT timeout would.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { HUB, SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';
import { Mosquitto } from '../lab/mosquitto.ts';
import type { LabProcess } from '../lab/lab.ts';

const BEHIND = '198.18.3.2';
const HUB_REAL = '198.18.4.3';
const WINDOW_MS = 6000;
const PROBE_OK = `tcp:${BEHIND}:22`;
const PROBE_DEAD = `tcp:${BEHIND}:2323`;

let h: SyncLab;
let dir: string;
let relay: LabProcess;
let agent: LabProcess;
let mosquitto: Mosquitto;

const egressTo = (port: number) => gnp('out', `selector: role == 'south'\ntypes: [Egress]\negress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);
const revisionsInForce = (p: LabProcess) => logLines(p).filter(inForce()).map((l) => String(l['revision']));
const lastRevision = () => revisionsInForce(agent).at(-1);

async function change(file: string, yaml: string | undefined): Promise<string> {
  const before = revisionsInForce(agent).length;
  if (yaml === undefined) await rm(join(dir, file));
  else await writeFile(join(dir, file), yaml);
  await waitUntil(() => revisionsInForce(agent).length > before);
  return lastRevision()!;
}

async function status(): Promise<Record<string, unknown>> {
  const raw = await h.retained('outpost/v1/nodes/gw/status');
  return JSON.parse(new TextDecoder().decode(raw)) as Record<string, unknown>;
}

describe.skipIf(!isRoot)('commit confirmed: probe-gated rollback', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    const { lab } = h;
    // The broker really listens on a second hub address; gw reaches it through its own DNAT.
    await h.mosquitto.stop();
    await lab.exec('hub', ['ip', 'addr', 'add', `${HUB_REAL}/24`, 'dev', 'eth0']);
    mosquitto = await Mosquitto.start(lab, 'hub', h.dir, [HUB_REAL, '127.0.0.1']);
    await lab.exec('gw', ['nft', '-f', '-'], {
      input: `table ip labnat {\n chain out {\n  type nat hook output priority -100;\n  ip daddr ${HUB.v4} tcp dport 1883 dnat to ${HUB_REAL}\n }\n}\n`,
    });
    await Promise.all([lab.startResponder('behind', { tcp: [22] }), lab.startResponder('hub', { tcp: [8080] })]);
    dir = h.path('policies');
    await mkdir(dir);
    await writeFile(join(dir, 'heps.yaml'), hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }));
    relay = h.relay(['--resources', dir, '--state', h.path('relay-state')]);
    await waitLog(relay, (l) => l.msg === 'snapshots published');
    agent = h.agent('gw', ['--failsafe-inbound', 'none', '--failsafe-outbound', 'none', '--confirm-window-ms', String(WINDOW_MS), '--probes', PROBE_OK, '--probes', PROBE_DEAD]);
    await waitLog(agent, inForce());
    await waitLog(agent, (l) => l.msg === 'connected to broker');
  });
  afterAll(async () => {
    await mosquitto?.stop();
    await h?.destroy();
  });

  test('a probe that was already failing before the apply does not roll the revision back', async () => {
    // Egress on eth3 only to port 22: the already-dead probe's port (2323) is now blocked too.
    await writeFile(join(dir, 'policy.yaml'), egressTo(22));
    const revision = await change('south.yaml', hep('gw-eth3', { iface: 'eth3', labels: { role: 'south' } }));
    const opened = await waitLog(agent, (l) => l.msg === 'new revision on probation' && l['revision'] === revision);
    expect(opened['alreadyFailing']).toEqual([PROBE_DEAD]);
    expect(opened['watching']).toEqual(['broker', PROBE_OK]);
    await waitLog(agent, (l) => l.msg.startsWith('revision confirmed') && l['revision'] === revision, WINDOW_MS + 5000);
    expect(logLines(agent).some((l) => l.msg.startsWith('rolled back'))).toBe(false);
    expect(lastRevision()).toBe(revision);
    expect(await h.tcp('gw', BEHIND, 22)).toBe(true);
    expect((await status())['state']).toBe('in-sync');
  });

  test('a configured TCP probe that the new revision blocks rolls it back to the previous ruleset', async () => {
    const good = lastRevision()!;
    const bad = await change('policy.yaml', egressTo(80));
    expect(bad).not.toBe(good);
    const line = await waitLog(agent, (l) => l.msg.startsWith('rolled back revision') && l['revision'] === bad, WINDOW_MS + 5000);
    expect(line['failed']).toEqual([PROBE_OK]);
    expect(line['restored']).toBe(good);
    await waitLog(agent, (l) => inForce(good)(l) && l['from'] === 'rollback');
    // The previous ruleset is in force again: port 22 to behind passes.
    expect(await h.tcp('gw', BEHIND, 22)).toBe(true);
    const s = await status();
    expect(s['state']).toBe('error');
    expect(String(s['lastError'])).toContain(`rolled back revision ${bad}`);
  });

  test('a revision that cuts the path to the broker (failsafes none) is rolled back, the agent reconnects, reports it, and does not apply it again', async () => {
    const good = lastRevision()!;
    // The datastore back to the policy in force (a newer revision, the same ruleset; its window
    // is still open when the next one arrives, which then restores to `good` all the same).
    await change('policy.yaml', egressTo(22));
    // Deny-all on the hub-facing interface. Other traffic to the hub stops at once...
    const bad = await change('hub-side.yaml', hep('gw-eth4', { iface: 'eth4', labels: { role: 'uplink' } }));
    expect(await h.tcp('gw', HUB.v4, 8080)).toBe(false);
    // ...and the MQTT connection with it as soon as it has to be made again.
    const mark = logLines(agent).length;
    await h.lab.exec('gw', ['ss', '-K', 'dst', HUB.v4]);
    const line = await waitLog(agent, (l) => l.msg.startsWith('rolled back revision') && l['revision'] === bad, WINDOW_MS + 5000, mark);
    expect(line['failed']).toEqual(['broker']);
    expect(line['restored']).toBe(good);
    expect(await h.tcp('gw', HUB.v4, 8080)).toBe(true);
    await waitLog(agent, (l) => l.msg === 'connected to broker', 20_000, mark);
    // Reconnected: the broker delivers the retained bad revision again; it is refused, not re-applied.
    await waitLog(agent, (l) => l.msg.startsWith('snapshot refused') && String(l.msg).includes(`revision ${bad} was rolled back`), 10_000, mark);
    expect(revisionsInForce(agent).filter((r) => r === bad)).toHaveLength(1);
    await waitUntil(async () => String((await status())['lastError']).includes(`rolled back revision ${bad}`));
    expect((await status())['state']).toBe('error');
    // A newer revision is applied again (and clears the error once it is in sync).
    const next = await change('hub-side.yaml', undefined);
    expect(Number(next)).toBeGreaterThan(Number(bad));
    await waitUntil(async () => (await status())['state'] === 'in-sync');
  });
});

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms\nagent:\n${agent?.stderr.slice(-3000)}\nrelay:\n${relay?.stderr.slice(-1500)}`);
    await Bun.sleep(100);
  }
}
