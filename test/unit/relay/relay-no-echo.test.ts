/**
 * The relay with a link that can unsubscribe (as the real MQTT client can): it does not hear its
 * own publications in steady state, reads the retained snapshots only in windows (at connect and
 * in audits), still puts its current snapshot back over a replay (found by an audit), still
 * clears a left-over node's retained snapshot, and publishes a change to one node only to it.
 */
import { describe, expect, test } from 'bun:test';
import pino from 'pino';
import { parseManifest } from '../../../src/model/manifest.ts';
import { decodeSnapshot, encodeSnapshot } from '../../../src/protocol/snapshot.ts';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { generateSigningKeyPair } from '../../../src/platform/signing.ts';
import { startRelay } from '../../../src/relay/relay.ts';
import { FakeBroker, FakeLink, until } from './fake-link.ts';
import { nodeHeps as heps, nodePolicy as policy, PushSource } from './push-source.ts';

const PREFIX = 'outpost/v1';
const topic = (n: string) => `${PREFIX}/nodes/${n}/snapshot`;
const keys = generateSigningKeyPair();

class UnsubscribingLink extends FakeLink {
  readonly heard: string[] = [];
  subscribes = 0;
  override async subscribe(topics: readonly string[]): Promise<void> {
    this.subscribes++;
    await super.subscribe(topics);
  }
  async unsubscribe(topics: readonly string[]): Promise<void> {
    this.filters = this.filters.filter((f) => !topics.includes(f));
  }
  override receive(t: string, p: Uint8Array, retained: boolean): void {
    this.heard.push(t);
    super.receive(t, p, retained);
  }
}

const decode = (p: Uint8Array | undefined, node: string) => {
  const d = p ? decodeSnapshot(p, { publicKey: keys.publicKey, node }) : undefined;
  return d?.ok ? d.snapshot : undefined;
};

async function relayOn(broker: FakeBroker, text: string, auditIntervalMs: number) {
  const link = new UnsubscribingLink(broker);
  broker.links.add(link);
  link.connect();
  const source = new PushSource(text);
  const relay = await startRelay({ source, link, signingKey: keys.privateKey, topicPrefix: PREFIX, log: pino({ level: process.env['DBG'] ? 'debug' : 'silent' }), quietMs: 1, maxWaitMs: 5, resignIntervalMs: 0, retainedQuietMs: 30, auditIntervalMs });
  return { relay, link, source };
}

describe('relay without echo', () => {
  test('steady state: its own publications do not come back to it; a one-node change is published to that node only', async () => {
    const broker = new FakeBroker();
    const text = heps('a', 'b', 'c') + policy('a', 80) + policy('b', 80) + policy('c', 80);
    const { relay, link, source } = await relayOn(broker, text, 60_000);
    try {
      await until('three nodes published', () => ['a', 'b', 'c'].every((n) => decode(broker.retained.get(topic(n)), n)?.revision === '10'));
      // The first audit (right after connect) reads the retained snapshots once, then unsubscribes.
      await until('the first audit done', () => !link.filters.some((f) => f.endsWith('/snapshot')));
      const heardBefore = link.heard.length;
      const before = broker.log.length;
      source.push('11', heps('a', 'b', 'c') + policy('a', 443) + policy('b', 80) + policy('c', 80));
      await until('a at 11', () => decode(broker.retained.get(topic('a')), 'a')?.revision === '11');
      await relay.idle();
      // The snapshot, and what the relay expects the node to hold (for `outpost fleet`): nothing for b and c.
      expect(broker.log.slice(before).map((p) => p.topic)).toEqual([topic('a'), `${PREFIX}/nodes/a/expected`]);
      expect(JSON.parse(new TextDecoder().decode(broker.retained.get(`${PREFIX}/nodes/a/expected`)))).toMatchObject({ node: 'a', revision: '11' });
      expect(decode(broker.retained.get(topic('b')), 'b')?.revision).toBe('10');
      expect(link.heard.length).toBe(heardBefore);
    } finally {
      await relay.stop();
      await link.close();
    }
  });

  test('an audit finds a replay, a forgery and a clear, and puts the current snapshot back', async () => {
    const broker = new FakeBroker();
    const text = heps('a') + policy('a', 80);
    const { relay, link } = await relayOn(broker, text, 100);
    try {
      await until('published', () => broker.retained.has(topic('a')));
      await relay.idle();
      const current = broker.retained.get(topic('a'))!;
      const plan = computeNodePlan({ node: 'a', resources: parseManifest(text, 'x').resources }).plan;
      const attacker = broker.link();
      attacker.connect();
      for (const bad of [encodeSnapshot({ node: 'a', revision: '9', plan, issuedAt: Date.now() - 86_400_000 }, keys.privateKey), encodeSnapshot({ node: 'a', revision: '50', plan, issuedAt: Date.now() }, generateSigningKeyPair().privateKey), '']) {
        await attacker.publish(topic('a'), bad, { retain: true, qos: 1 });
        await until('the current snapshot back', () => Buffer.from(broker.retained.get(topic('a')) ?? new Uint8Array()).equals(Buffer.from(current)));
      }
    } finally {
      await relay.stop();
      await link.close();
    }
  });

  test('an audit leaves alone another relay\'s signature of the same or a newer revision, and puts back one issued earlier', async () => {
    const broker = new FakeBroker();
    const text = heps('a') + policy('a', 80);
    const { relay, link } = await relayOn(broker, text, 100);
    try {
      await until('published', () => broker.retained.has(topic('a')));
      await relay.idle();
      const current = broker.retained.get(topic('a'))!;
      const mineAt = decode(current, 'a')!.issuedAt!;
      const plan = computeNodePlan({ node: 'a', resources: parseManifest(text, 'x').resources }).plan;
      const peer = broker.link();
      peer.connect();
      /** Plants `bytes` as a peer relay would and lets two audits run (the first may have subscribed before). */
      const plantAndAudit = async (bytes: Uint8Array) => {
        await peer.publish(topic('a'), bytes, { retain: true, qos: 1 });
        const from = broker.log.length;
        const n = link.subscribes;
        await until('two audits after the peer\'s publication', () => link.subscribes >= n + 2 && !link.filters.some((f) => f.endsWith('/snapshot')));
        await Bun.sleep(100);
        return broker.log.slice(from).filter((e) => e.topic === topic('a'));
      };
      for (const [revision, issuedAt] of [['10', mineAt], ['10', mineAt + 1000], ['11', mineAt + 1000]] as const) {
        const peers = encodeSnapshot({ node: 'a', revision, plan, issuedAt }, keys.privateKey);
        expect(await plantAndAudit(peers)).toEqual([]);
        expect(Buffer.from(broker.retained.get(topic('a'))!).equals(Buffer.from(peers))).toBeTrue();
      }
      // Control: the audits do look. The same revision issued earlier than ours is put back.
      const older = encodeSnapshot({ node: 'a', revision: '10', plan, issuedAt: mineAt - 1000 }, keys.privateKey);
      await peer.publish(topic('a'), older, { retain: true, qos: 1 });
      await until('ours back', () => Buffer.from(broker.retained.get(topic('a')) ?? new Uint8Array()).equals(Buffer.from(current)));
    } finally {
      await relay.stop();
      await link.close();
    }
  });

  test('a retained snapshot of a node this relay does not know is cleared (found by the first audit)', async () => {
    const broker = new FakeBroker();
    const gonePlan = computeNodePlan({ node: 'gone', resources: parseManifest(heps('gone'), 'x').resources }).plan;
    broker.retained.set(topic('gone'), encodeSnapshot({ node: 'gone', revision: '5', plan: gonePlan, issuedAt: Date.now() }, keys.privateKey));
    const { relay, link } = await relayOn(broker, heps('a'), 60_000);
    try {
      await until('gone cleared', () => !broker.retained.has(topic('gone')));
      expect(broker.retained.has(topic('a'))).toBeTrue();
    } finally {
      await relay.stop();
      await link.close();
    }
  });
});
