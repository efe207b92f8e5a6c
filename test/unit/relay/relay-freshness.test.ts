/**
 * The relay's freshness duties with an in-memory broker: it re-signs each node's current
 * snapshot (same revision and hash, newer issue time), it puts its current snapshot back when the
 * topic holds something it did not publish (a replayed older one, a forgery, a clear), and two
 * relays with the same key re-signing on one broker do not overwrite each other in a loop.
 */
import { describe, expect, test } from 'bun:test';
import pino from 'pino';
import { parseManifest } from '../../../src/model/manifest.ts';
import type { DatastoreListener, DatastoreSource } from '../../../src/datastore/source.ts';
import { decodeSnapshot, encodeSnapshot } from '../../../src/protocol/snapshot.ts';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { generateSigningKeyPair } from '../../../src/platform/signing.ts';
import { startRelay } from '../../../src/relay/relay.ts';
import { gnp, hep } from '../../integration/fixtures.ts';
import { FakeBroker, until } from './fake-link.ts';

const PREFIX = 'outpost/v1';
const TOPIC = `${PREFIX}/nodes/a/snapshot`;
const keys = generateSigningKeyPair();
const TEXT = hep('a-eth0', { iface: 'eth0', node: 'a', labels: { role: 'gw' } }) + gnp('web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]`);

class StaticSource implements DatastoreSource {
  async start(l: DatastoreListener) {
    const r = parseManifest(TEXT, 'test');
    l.onState({ revision: '100', resources: r.resources });
  }
  async stop() {}
}

const quiet = () => pino({ level: 'silent' });
const decode = (p: Uint8Array | undefined) => {
  const d = p ? decodeSnapshot(p, { publicKey: keys.publicKey, node: 'a' }) : undefined;
  return d?.ok ? d.snapshot : undefined;
};
async function relayOn(broker: FakeBroker, resignIntervalMs: number) {
  const link = broker.link();
  link.connect();
  const relay = await startRelay({ source: new StaticSource(), link, signingKey: keys.privateKey, topicPrefix: PREFIX, log: quiet(), quietMs: 1, maxWaitMs: 5, resignIntervalMs });
  return { relay, link };
}
const published = (broker: FakeBroker) => broker.log.filter((p) => p.topic === TOPIC && p.payload.length > 0);

describe('relay freshness', () => {
  test('re-signs the current snapshot: same revision and hash, a newer issue time', async () => {
    const broker = new FakeBroker();
    const { relay, link } = await relayOn(broker, 100);
    try {
      await until('first publication', () => published(broker).length > 0);
      const first = decode(broker.retained.get(TOPIC))!;
      await until('a re-signature', () => (decode(broker.retained.get(TOPIC))?.issuedAt ?? 0) > first.issuedAt!);
      const again = decode(broker.retained.get(TOPIC))!;
      expect([again.revision, again.hash]).toEqual([first.revision, first.hash]);
    } finally {
      await relay.stop();
      await link.close();
    }
  });

  test('a replayed older snapshot, a forgery and a clear are each replaced by the current snapshot', async () => {
    const broker = new FakeBroker();
    const { relay, link } = await relayOn(broker, 0);
    try {
      await until('first publication', () => published(broker).length > 0);
      const current = broker.retained.get(TOPIC)!;
      const plan = computeNodePlan({ node: 'a', resources: parseManifest(TEXT, 'x').resources }).plan;
      const attacker = broker.link();
      attacker.connect();
      const replays: (Uint8Array | string)[] = [
        encodeSnapshot({ node: 'a', revision: '99', plan, issuedAt: Date.now() - 86_400_000 }, keys.privateKey),
        // The same revision, signed earlier: also not what the relay published.
        encodeSnapshot({ node: 'a', revision: '100', plan, issuedAt: 1 }, keys.privateKey),
        encodeSnapshot({ node: 'a', revision: '500', plan, issuedAt: Date.now() }, generateSigningKeyPair().privateKey),
        '',
      ];
      for (const bad of replays) {
        await attacker.publish(TOPIC, bad, { retain: true, qos: 1 });
        expect(Buffer.from(broker.retained.get(TOPIC) ?? new Uint8Array()).equals(Buffer.from(current))).toBeFalse();
        await until('the current snapshot back', () => Buffer.from(broker.retained.get(TOPIC) ?? new Uint8Array()).equals(Buffer.from(current)));
      }
      // A flood of replays costs a bounded number of publications, not one per replay.
      const before = published(broker).length;
      for (let i = 0; i < 50; i++) await attacker.publish(TOPIC, replays[0]!, { retain: true, qos: 1 });
      await until('the current snapshot back', () => Buffer.from(broker.retained.get(TOPIC)!).equals(Buffer.from(current)));
      expect(published(broker).length - before - 50).toBeLessThan(25);
    } finally {
      await relay.stop();
      await link.close();
    }
  });

  test('two relays with the same key on one broker settle instead of overwriting each other forever', async () => {
    const broker = new FakeBroker();
    const one = await relayOn(broker, 0);
    await Bun.sleep(5);
    const two = await relayOn(broker, 0);
    try {
      await until('both published', () => published(broker).length >= 2);
      await Bun.sleep(300);
      // Each saw the other's signature of the same revision: the newer one stays, nobody answers it.
      const settled = published(broker).length;
      await Bun.sleep(500);
      expect(published(broker).length).toBe(settled);
      expect(decode(broker.retained.get(TOPIC))?.revision).toBe('100');
    } finally {
      await one.relay.stop();
      await two.relay.stop();
      await one.link.close();
      await two.link.close();
    }
  });
});
