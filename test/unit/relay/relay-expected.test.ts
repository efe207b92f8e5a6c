/**
 * What the relay expects each node to hold (`<prefix>/nodes/<node>/expected`, for `outpost fleet`),
 * the held-back list it publishes, and what it tells its observers.
 */
import { expect, test } from 'bun:test';
import pino from 'pino';
import { decodeSnapshot } from '../../../src/protocol/snapshot.ts';
import { decodeExpected } from '../../../src/protocol/expected.ts';
import { generateSigningKeyPair } from '../../../src/platform/signing.ts';
import { startRelay } from '../../../src/relay/relay.ts';
import type { RelayObserver } from '../../../src/relay/observations.ts';
import type { HeldBackItem } from '../../../src/protocol/held-back.ts';
import { FakeBroker, until } from './fake-link.ts';
import { nodeHeps as heps, nodePolicy as policy, PushSource } from './push-source.ts';

const PREFIX = 'outpost/v1';
const keys = generateSigningKeyPair();

const expectedOf = (broker: FakeBroker, node: string) => {
  const p = broker.retained.get(`${PREFIX}/nodes/${node}/expected`);
  if (!p) return undefined;
  const d = decodeExpected(p);
  if (!d.ok) throw new Error(d.message);
  return d.expected;
};
const snapshotOf = (broker: FakeBroker, node: string) => {
  const p = broker.retained.get(`${PREFIX}/nodes/${node}/snapshot`);
  const d = p ? decodeSnapshot(p, { publicKey: keys.publicKey, node }) : undefined;
  return d?.ok ? d.snapshot : undefined;
};

test('expected = the snapshot\'s revision and hash; cleared when the node is gone; back after the broker lost it', async () => {
  const broker = new FakeBroker();
  const link = broker.link();
  link.connect();
  const events: string[] = [];
  const observer: RelayObserver = {
    stateComputed: (e) => events.push(`computed ${e.revision} changed=${e.nodesChanged} nodes=${e.nodes}`),
    snapshotPublished: (e) => events.push(`published ${e.node}@${e.revision}`),
    heldBackChanged: (e) => events.push(`held ${e.count}`),
    brokerDisconnected: () => events.push('broker down'),
    brokerConnected: () => events.push('broker up'),
  };
  const throwing: RelayObserver = {
    stateComputed: () => {
      throw new Error('observer bug');
    },
  };
  const source = new PushSource(heps('a', 'b') + policy('a', 80) + policy('b', 80));
  const relay = await startRelay({ source, link, signingKey: keys.privateKey, topicPrefix: PREFIX, log: pino({ level: 'silent' }), quietMs: 1, maxWaitMs: 5, resignIntervalMs: 0, retainedQuietMs: 30, auditIntervalMs: 0, observers: [throwing, observer] });
  try {
    await until('both expected', () => expectedOf(broker, 'a') !== undefined && expectedOf(broker, 'b') !== undefined);
    await relay.idle();
    for (const n of ['a', 'b']) {
      const snap = snapshotOf(broker, n)!;
      expect(expectedOf(broker, n)).toMatchObject({ node: n, revision: '10', hash: snap.hash });
    }
    expect(events).toContain('computed 10 changed=2 nodes=2');
    expect(events).toContain('published a@10');
    expect(relay.health()).toEqual({ datastoreSynced: true, brokerConnected: true });

    const hashB = expectedOf(broker, 'b')!.hash;
    source.push('12', heps('a') + policy('a', 443));
    await until('b cleared', () => expectedOf(broker, 'b') === undefined && !broker.retained.has(`${PREFIX}/nodes/b/snapshot`));
    await relay.idle();
    expect(expectedOf(broker, 'a')).toMatchObject({ revision: '12', hash: snapshotOf(broker, 'a')!.hash });
    expect(expectedOf(broker, 'a')!.hash).not.toBe(hashB);

    // Held back: the source's list goes out retained; the count reaches the observer.
    const item: HeldBackItem = { kind: 'GlobalNetworkPolicy', name: 'bad', source: '/calico/x/bad', reason: 'spec.selector: bad', lastValidInForce: false };
    source.listener!.onHeldBack!([item]);
    await until('held-back retained', () => broker.retained.has(`${PREFIX}/relay/held-back`));
    expect(JSON.parse(new TextDecoder().decode(broker.retained.get(`${PREFIX}/relay/held-back`)))).toMatchObject({ count: 1, items: [item] });
    expect(events).toContain('held 1');

    // The broker restarts and loses its retained messages: all of it comes back on reconnect.
    link.disconnect();
    expect(relay.health().brokerConnected).toBe(false);
    broker.retained.clear();
    link.connect();
    await until('expected back', () => expectedOf(broker, 'a') !== undefined && broker.retained.has(`${PREFIX}/relay/held-back`));
    expect(events).toContain('broker down');
    expect(events.filter((e) => e === 'broker up').length).toBeGreaterThanOrEqual(2);
  } finally {
    await relay.stop();
  }
});
