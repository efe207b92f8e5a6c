/**
 * What an agent does with snapshots it must not trust: tampered, unsigned, signed by another
 * key, older than the one in force, malformed, or meant for another node. Each is published
 * on the agent's own retained topic on a real Mosquitto; each must be refused with its reason
 * logged and counted in the status, and the enforcement in force must not move (real packets).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { snapshotTopic, statusTopic } from '../../src/protocol/topics.ts';
import { decodeStatus } from '../../src/protocol/status.ts';
import { createHash, sign, type KeyObject } from 'node:crypto';
import { canonicalBytes } from '../../src/protocol/canonical-json.ts';
import { keyId } from '../../src/protocol/key-id.ts';
import { isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';
import type { LabProcess } from '../lab/lab.ts';

const TOPIC = snapshotTopic('outpost/v1', 'gw');

let h: SyncLab;
let agent: LabProcess;

/** v1 (JSON) unless asked: most cases below edit the payload as text. */
function snapshot(port: number, revision: string, opts: { node?: string; key?: KeyObject; format?: 1 | 2 } = {}): Uint8Array {
  const node = opts.node ?? 'gw';
  const text = hep(`${node}-eth1`, { iface: 'eth1', node, labels: { role: 'gw' } }) + gnp('web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);
  const { resources, errors } = parseManifest(text, 'test');
  if (errors.length) throw new Error(JSON.stringify(errors));
  const { plan } = computeNodePlan({ node, resources });
  return encodeSnapshot({ node, revision, plan, issuedAt: Date.now() }, opts.key ?? h.keys.relay.privateKey, { format: opts.format ?? 1 });
}

const flows = () => h.gwFlows();

const refusals = () => logLines(agent).filter((l) => l.msg.startsWith('snapshot refused'));

async function expectRefused(payload: Uint8Array | string, reason: string): Promise<void> {
  const before = refusals().length;
  await h.publish(TOPIC, payload);
  const end = Date.now() + 10_000;
  while (refusals().length <= before && Date.now() < end) await Bun.sleep(25);
  expect(refusals()[before]?.['reason']).toBe(reason);
  expect(await flows()).toEqual({ 80: true, 443: false });
}

describe.skipIf(!isRoot)('an agent refuses snapshots it must not trust', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    agent = h.agent('gw');
    await h.publish(TOPIC, snapshot(80, '10'));
    await waitLog(agent, inForce('10'));
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('the valid snapshot is in force', async () => {
    expect(await flows()).toEqual({ 80: true, 443: false });
  });

  test('tampered content: the signature no longer matches', async () => {
    const good = new TextDecoder().decode(snapshot(443, '11'));
    // Same length, still valid JSON, one port changed: only the signature can tell.
    const tampered = good.replace('[443,443]', '[444,444]');
    expect(tampered).not.toBe(good);
    await expectRefused(tampered, 'bad-signature');
    // v2 (what the relay sends): one bit of the compressed plan flipped.
    const v2 = snapshot(443, '11', { format: 2 });
    v2[v2.length - 5]! ^= 1;
    await expectRefused(v2, 'bad-signature');
  });

  test('no signature', async () => {
    const env = JSON.parse(new TextDecoder().decode(snapshot(443, '12'))) as Record<string, unknown>;
    delete env['sig'];
    await expectRefused(JSON.stringify(env), 'unsigned');
  });

  test('signed by a key the agent does not trust', async () => {
    await expectRefused(snapshot(443, '13', { key: h.keys.other.privateKey }), 'bad-signature');
  });

  test('older than the revision in force (a replay)', async () => {
    await expectRefused(snapshot(443, '9'), 'stale');
  });

  test('malformed: not JSON, and JSON of the wrong shape', async () => {
    await expectRefused('this is not a snapshot', 'malformed');
    // Validly signed by the trusted key, but the plan is not a plan: refused by the schema.
    const plan = { node: 'gw', endpoints: 'everything' };
    const body = { format: 'outpost.snapshot/v1', node: 'gw', revision: '16', hash: `sha256:${createHash('sha256').update(canonicalBytes(plan)).digest('hex')}`, plan };
    const sig = sign(null, canonicalBytes(body), h.keys.relay.privateKey).toString('base64');
    await expectRefused(canonicalBytes({ body, keyId: keyId(h.keys.relay.privateKey), sig }), 'malformed');
    expect(String(refusals().at(-1)?.msg)).toContain('body.plan');
  });

  test('validly signed, but for another node', async () => {
    await expectRefused(snapshot(443, '14', { node: 'c2' }), 'wrong-node');
  });

  test('the status names the refusals, and a newer valid snapshot is still accepted', async () => {
    const raw = await h.retained(statusTopic('outpost/v1', 'gw'));
    expect(raw).toBeDefined();
    const st = decodeStatus(raw!);
    expect(st.ok).toBe(true);
    if (!st.ok) return;
    expect(st.status.state).toBe('in-sync');
    expect(st.status.revision).toBe('10');
    expect(st.status.refused).toMatchObject({ 'bad-signature': 3, unsigned: 1, stale: 1, malformed: 2, 'wrong-node': 1 });
    await h.publish(TOPIC, snapshot(443, '15'));
    await waitLog(agent, inForce('15'));
    expect(await flows()).toEqual({ 80: false, 443: true });
  });

  test('an agent that dies is reported offline by its last will; enforcement stays', async () => {
    process.kill(agent.pid!, 'SIGKILL');
    await agent.exited;
    let state: string | undefined;
    for (let i = 0; i < 40 && state !== 'offline'; i++) {
      const raw = await h.retained(statusTopic('outpost/v1', 'gw'));
      const st = raw ? decodeStatus(raw) : undefined;
      state = st?.ok ? st.status.state : undefined;
    }
    expect(state).toBe('offline');
    expect(await flows()).toEqual({ 80: false, 443: true });
  });
});
