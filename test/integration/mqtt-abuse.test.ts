/**
 * Bounded memory under abuse, with the real agent, the real Mosquitto and the real embedded broker.
 *
 * Agent: a short flood of forged 15 MiB snapshots (claiming the trusted key), 15 MiB nested-JSON
 * payloads and a 40 MiB payload on its snapshot topic. Every one is refused with a reason, the
 * agent's VmRSS (sampled from /proc) stays under 150 MiB, and a genuine snapshot sent afterwards
 * is applied. Before the fix the agent parsed every payload (and MQTT.js buffered the 40 MiB one).
 * Embedded broker: forged retained snapshots, oversized statuses and oversized packets are
 * refused; nothing of them stays retained. scripts/bench/mqtt-flood.ts runs the longer flood.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import mqtt from 'mqtt';
import { join } from 'node:path';
import { SyncLab, logLines, waitLog, inForce } from './sync-harness.ts';
import { isRoot } from './harness.ts';
import { encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { keyId } from '../../src/protocol/key-id.ts';
import { startEmbeddedBroker, signedBy, type EmbeddedBroker } from '../../src/mqtt/embedded-broker.ts';
import { planFor } from '../unit/protocol/fixtures.ts';
import { generateSigningKeyPair } from '../../src/platform/signing.ts';
import { forgedSnapshot } from '../../scripts/bench/mqtt-flood.ts';
import type { LabProcess } from '../lab/lab.ts';

const FLOOD = join(import.meta.dir, '../../scripts/bench/mqtt-flood.ts');
const TOPIC = 'outpost/v1/nodes/gw/snapshot';

async function rssMiB(pid: number): Promise<number> {
  const s = await Bun.file(`/proc/${pid}/status`).text();
  return Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1] ?? 0) / 1024;
}

describe.skipIf(!isRoot)('agent under an MQTT flood', () => {
  let h: SyncLab;
  let agent: LabProcess;
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    agent = h.agent('gw');
    await h.publish(TOPIC, encodeSnapshot({ node: 'gw', revision: '1', plan: planFor('gw'), issuedAt: Date.now() }, h.keys.relay.privateKey));
    await waitLog(agent, inForce('1'));
  });
  afterAll(async () => {
    await agent?.stop();
    await h?.destroy();
  });

  test('forged, nested and oversized payloads are refused with a reason and RSS stays under 150 MiB', async () => {
    const pid = agent.pid!;
    let peak = await rssMiB(pid);
    const sampler = setInterval(() => void rssMiB(pid).then((r) => (peak = Math.max(peak, r))).catch(() => undefined), 50);
    try {
      const args = ['publish', 'mqtt://127.0.0.1:1883', TOPIC, '--key-id', keyId(h.keys.relay.publicKey), '--forged', '4', '--nested', '4', '--huge', '1', '--mb', '15', '--huge-mb', '40'];
      await h.lab.exec('hub', [process.execPath, FLOOD, ...args], { timeoutMs: 120_000 });
      const until = Date.now() + 20_000;
      const refused = () => logLines(agent).filter((l) => String(l.msg).startsWith('snapshot refused'));
      while (refused().length < 9 && Date.now() < until) await Bun.sleep(100);
      const reasons = refused().map((l) => String(l['reason']));
      expect(reasons.filter((r) => r === 'bad-signature').length).toBe(4);
      expect(reasons.filter((r) => r === 'malformed').length).toBe(5);
      expect(refused().some((l) => /over the \d+-byte limit; skipped unread/.test(String(l.msg)))).toBe(true);
    } finally {
      clearInterval(sampler);
    }
    expect(agent.running).toBe(true);
    expect(peak).toBeLessThan(150);
    // The link still works: a genuine snapshot after the flood is applied.
    await h.publish(TOPIC, encodeSnapshot({ node: 'gw', revision: '2', plan: planFor('gw'), issuedAt: Date.now() }, h.keys.relay.privateKey));
    await waitLog(agent, inForce('2'));
  });
});

describe('embedded broker limits', () => {
  const keys = generateSigningKeyPair();
  let broker: EmbeddedBroker;
  const refusals: string[] = [];
  beforeAll(async () => {
    broker = await startEmbeddedBroker('127.0.0.1', 0, {
      verifySnapshot: signedBy(keys.privateKey),
      retainedMaxCount: 5,
      maxPacketBytes: 8 * 1024 * 1024,
      onRefused: (r) => refusals.push(r.reason),
    });
  });
  afterAll(async () => {
    await broker?.close();
  });

  /** Publishes once on a fresh connection; resolves true when the broker accepted it (PUBACK). */
  async function pub(topic: string, payload: Uint8Array, retain = true): Promise<boolean> {
    const c = await mqtt.connectAsync(broker.url, { clientId: `t-${Math.random()}`, reconnectPeriod: 0, connectTimeout: 3000 });
    try {
      const acked = c.publishAsync(topic, Buffer.from(payload), { qos: 1, retain }).then(() => true, () => false);
      const closed = new Promise<boolean>((r) => c.once('close', () => r(false)));
      return await Promise.race([acked, closed]);
    } finally {
      c.end(true);
    }
  }

  test('forged retained snapshots are refused, whatever their size; a signed one is kept', async () => {
    const before = broker.retained;
    for (let i = 0; i < 6; i++) expect(await pub(`outpost/v1/nodes/n${i}/snapshot`, forgedSnapshot(5 * 1024 * 1024))).toBe(false);
    expect(broker.retained).toEqual(before);
    expect(refusals.some((r) => r.includes('not signed by this relay'))).toBe(true);
    const good = encodeSnapshot({ node: 'gw', revision: '1', plan: planFor('gw'), issuedAt: Date.now() }, keys.privateKey);
    expect(await pub('outpost/v1/nodes/gw/snapshot', good)).toBe(true);
    expect(broker.retained.count).toBe(before.count + 1);
  });

  test('retained statuses are small and few; an empty payload clears', async () => {
    expect(await pub('outpost/v1/nodes/a/status', new Uint8Array(32 * 1024))).toBe(false);
    for (const n of ['a', 'b', 'c', 'd']) expect(await pub(`outpost/v1/nodes/${n}/status`, new TextEncoder().encode('{}'))).toBe(true);
    expect(broker.retained.count).toBe(5);
    expect(await pub('outpost/v1/nodes/e/status', new TextEncoder().encode('{}'))).toBe(false);
    expect(refusals.some((r) => r.includes('retained topics (limit 5)'))).toBe(true);
    expect(await pub('outpost/v1/nodes/a/status', new Uint8Array(0))).toBe(true);
    expect(await pub('outpost/v1/nodes/e/status', new TextEncoder().encode('{}'))).toBe(true);
  });

  test('a packet over the limit closes the connection before it is buffered; non-retained traffic flows', async () => {
    expect(await pub('outpost/v1/x', new Uint8Array(9 * 1024 * 1024), false)).toBe(false);
    expect(refusals.some((r) => r.includes('over the 8388608-byte limit'))).toBe(true);
    expect(await pub('outpost/v1/x', new Uint8Array(1024 * 1024), false)).toBe(true);
  });
});
