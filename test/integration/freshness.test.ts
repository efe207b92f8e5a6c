/**
 * Replay and freshness on a real Mosquitto (which, unlike the relay's embedded broker, keeps
 * whatever any client retains): a genuine but old snapshot, re-retained by someone, must not be
 * taken by an agent with an empty state dir; the relay must overwrite it with its current one;
 * an agent whose relay stops re-signing reports stale (and keeps enforcing), and comes back to
 * in-sync when a fresh snapshot arrives. Real packets decide what is in force.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { decodeSnapshot, encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { decodeStatus, type AgentStatus } from '../../src/protocol/status.ts';
import { snapshotTopic, statusTopic } from '../../src/protocol/topics.ts';
import type { LabProcess } from '../lab/lab.ts';
import { isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';

const GW1 = '198.18.1.1';
const TOPIC = snapshotTopic('outpost/v1', 'gw');
const allowPort = (port: number) => gnp('web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);

let h: SyncLab;
let dir: string;
let agent: LabProcess;
let relay: LabProcess | undefined;
/** A genuine snapshot (the relay's key) from an hour ago that allowed port 80: what an attacker would replay. */
let oldSnapshot: Uint8Array;

async function flows(): Promise<Record<number, boolean>> {
  const [p80, p443] = await Promise.all([h.tcp('c1', GW1, 80), h.tcp('c1', GW1, 443)]);
  return { 80: p80, 443: p443 };
}

async function status(): Promise<AgentStatus | undefined> {
  const raw = await h.retained(statusTopic('outpost/v1', 'gw'));
  const st = raw ? decodeStatus(raw) : undefined;
  return st?.ok ? st.status : undefined;
}

async function waitFor<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${v instanceof Uint8Array ? `${v.length} bytes` : JSON.stringify(v)})`);
    await Bun.sleep(100);
  }
}

const relayKey = () => ({ publicKey: h.keys.relay.publicKey, node: 'gw' });

describe.skipIf(!isRoot)('replay and freshness', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    dir = h.path('policies');
    await mkdir(dir);
    await writeFile(join(dir, 'heps.yaml'), hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }));
    await writeFile(join(dir, 'policy.yaml'), allowPort(443));
    const { resources, errors } = parseManifest(hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + allowPort(80), 'old');
    if (errors.length) throw new Error(JSON.stringify(errors));
    oldSnapshot = encodeSnapshot({ node: 'gw', revision: '5', plan: computeNodePlan({ node: 'gw', resources }).plan, issuedAt: Date.now() - 3_600_000 }, h.keys.relay.privateKey);
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('an agent with an empty state dir refuses a genuine snapshot issued an hour ago', async () => {
    await h.publish(TOPIC, oldSnapshot);
    agent = h.agent('gw', ['--max-snapshot-age', '2s']);
    const line = await waitLog(agent, (l) => l.msg.startsWith('snapshot refused'));
    expect(line['reason']).toBe('expired');
    await Bun.sleep(500);
    expect(logLines(agent).filter(inForce())).toEqual([]);
    // Nothing was applied: no outpost table, so nothing filters.
    expect(await flows()).toEqual({ 80: true, 443: true });
  });

  test('the relay overwrites a retained snapshot it did not publish (a replay of an older genuine one)', async () => {
    relay = h.relay(['--resources', dir, '--resign-interval-ms', '0']);
    const applied = await waitLog(agent, inForce());
    const revision = String(applied['revision']);
    expect(await flows()).toEqual({ 80: false, 443: true });

    const t0 = Date.now();
    await h.publish(TOPIC, oldSnapshot);
    const current = await waitFor('the relay\'s snapshot back on the topic', () => h.retained(TOPIC), (p) => p !== undefined && !Buffer.from(p).equals(oldSnapshot), 5000);
    expect(Date.now() - t0).toBeLessThan(5000);
    const d = decodeSnapshot(current!, relayKey());
    expect(d.ok && d.snapshot.revision).toBe(revision);
    await waitLog(relay, (l) => l.msg.startsWith('a snapshot this relay did not publish'));
    // The agent, which holds a newer revision, refused the replay by revision and kept its policy.
    await waitLog(agent, (l) => l.msg.startsWith('snapshot refused') && l['reason'] === 'stale');
    expect(await flows()).toEqual({ 80: false, 443: true });
  });

  test('a relay that stops re-signing: the agent reports stale after the maximum age and keeps enforcing', async () => {
    const line = await waitLog(agent, (l) => l.msg.startsWith('snapshot stale'), 10_000);
    expect(line['staleCount']).toBe(1);
    const st = await waitFor('status stale', status, (s) => s?.state === 'stale');
    expect(st?.staleCount).toBe(1);
    expect(st?.issuedAt).toBeDefined();
    expect(await flows()).toEqual({ 80: false, 443: true });
  });

  test('with a degraded policy, a stale agent enforces it instead (after a restart from its cache, too)', async () => {
    const degradedDir = h.path('degraded');
    await mkdir(degradedDir);
    await writeFile(join(degradedDir, 'policy.yaml'), hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + allowPort(80));
    await agent.stop();
    agent = h.agent('gw', ['--max-snapshot-age', '2s', '--degraded-policy', degradedDir]);
    // From the cache first (the stale snapshot), then the degraded policy replaces it.
    await waitLog(agent, (l) => inForce()(l) && l['from'] === 'cache');
    await waitLog(agent, (l) => inForce()(l) && l['degraded'] === true);
    const st = await waitFor('status stale and degraded', status, (s) => s?.state === 'stale' && s.degraded === true);
    expect(st?.staleCount).toBe(1);
    // The degraded policy allows 80; the stale snapshot allowed 443.
    expect(await flows()).toEqual({ 80: true, 443: false });
  });

  test('a re-signing relay brings the agent back to in-sync, and its re-signatures keep it there without re-applying nft', async () => {
    await relay!.stop();
    relay = h.relay(['--resources', dir, '--resign-interval-ms', '300']);
    await waitLog(agent, (l) => l.msg === 'snapshot fresh again');
    await waitLog(agent, (l) => l.msg.startsWith('degraded policy lifted'));
    await waitFor('status in-sync', status, (s) => s?.state === 'in-sync' && s.degraded === undefined);
    // Let the new relay's first publication settle, then watch for longer than the maximum age.
    await Bun.sleep(500);
    const applies = logLines(agent).filter(inForce()).length;
    const stales = logLines(agent).filter((l) => l.msg.startsWith('snapshot stale')).length;
    await Bun.sleep(3000);
    expect(logLines(agent).filter((l) => l.msg.startsWith('snapshot stale')).length).toBe(stales);
    expect(logLines(agent).filter(inForce()).length).toBe(applies);
    expect((await status())?.state).toBe('in-sync');
    // The retained snapshot really is being re-signed: issued within the last few re-sign rounds.
    const d = decodeSnapshot((await h.retained(TOPIC))!, relayKey());
    expect(d.ok && Date.now() - d.snapshot.issuedAt!).toBeLessThan(2000);
    // The agent's cache holds the re-signed bytes, so a restart knows how fresh its state is
    // (the first publication of this relay is more than 3 s old by now).
    const db = new Database(join(h.path('state-gw'), 'outpost.db'), { readonly: true });
    try {
      const row = db.query('SELECT payload FROM snapshots WHERE node = ?').get('gw') as { payload: Uint8Array };
      const cached = decodeSnapshot(new Uint8Array(row.payload), relayKey());
      expect(cached.ok && Date.now() - cached.snapshot.issuedAt!).toBeLessThan(2000);
    } finally {
      db.close();
    }
    expect(await flows()).toEqual({ 80: false, 443: true });
  });
});
