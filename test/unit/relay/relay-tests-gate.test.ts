/**
 * A relay with policy tests: a state whose tests fail is not published (the last passing one stays
 * in force, nothing of the failing one leaks out, not even for nodes it did not break), the
 * relay's status says so, observers hear it; a fixed state is published, including nodes whose
 * changes were held back with the failing state.
 */
import { expect, test } from 'bun:test';
import pino from 'pino';
import { decodeSnapshot } from '../../../src/protocol/snapshot.ts';
import { decodeRelayStatus } from '../../../src/protocol/relay-status.ts';
import { parsePolicyTests } from '../../../src/explain/policy-tests.ts';
import { generateSigningKeyPair } from '../../../src/platform/signing.ts';
import { startRelay } from '../../../src/relay/relay.ts';
import { gnp, hep } from '../../integration/fixtures.ts';
import { FakeBroker, until } from './fake-link.ts';
import { PushSource } from './push-source.ts';

const PREFIX = 'outpost/v1';
const keys = generateSigningKeyPair();
const heps = hep('a-eth0', { iface: 'eth0', node: 'a', ips: ['198.18.1.1'], labels: { role: 'a' } }) + hep('b-eth0', { iface: 'eth0', node: 'b', ips: ['198.18.1.2'], labels: { role: 'b' } });
const web = (port: number) => gnp('web', `selector: role == 'a'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);
const other = (port: number) => gnp('other', `selector: role == 'b'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);
const TESTS = parsePolicyTests(`tests:
  - name: office reaches the web server
    from: 198.18.0.5
    to: 198.18.1.1
    port: 443/tcp
    expect: allow
  - name: telnet stays closed
    node: a
    from: 198.18.0.5
    to: 198.18.1.1
    port: 23/tcp
    expect: deny
`, 'tests.yaml');

const revisionOf = (broker: FakeBroker, node: string) => {
  const p = broker.retained.get(`${PREFIX}/nodes/${node}/snapshot`);
  const d = p ? decodeSnapshot(p, { publicKey: keys.publicKey, node }) : undefined;
  return d?.ok ? d.snapshot.revision : undefined;
};
const relayStatus = (broker: FakeBroker) => {
  const p = broker.retained.get(`${PREFIX}/relay/status`);
  const d = p ? decodeRelayStatus(p) : undefined;
  return d?.ok ? d.status : undefined;
};

test('failing tests hold the whole state back; fixing it publishes, held-back changes included', async () => {
  const broker = new FakeBroker();
  const link = broker.link();
  link.connect();
  const events: string[] = [];
  const source = new PushSource(heps + web(443) + other(80));
  const relay = await startRelay({
    source, link, signingKey: keys.privateKey, topicPrefix: PREFIX, log: pino({ level: process.env['DBG'] ? 'debug' : 'silent' }), quietMs: 1, maxWaitMs: 5, resignIntervalMs: 0, retainedQuietMs: 30, auditIntervalMs: 0, tests: TESTS,
    observers: [{ testsFailing: (e) => events.push(`failing ${e.revision} ${e.failed}/${e.total} ${e.failures.map((f) => f.test).join('|')}`), testsPassing: (e) => events.push(`passing ${e.revision}`) }],
  });
  try {
    await until('first state published', () => revisionOf(broker, 'a') === '10' && revisionOf(broker, 'b') === '10');
    await until('status', () => relayStatus(broker)?.publishedRevision === '10');
    expect(relayStatus(broker)).toMatchObject({ testsFailing: false, tests: { total: 2, failed: 0 } });

    // Revision 11 closes 443 on a (a declared flow breaks) and changes b (unrelated): neither goes out.
    source.push('11', heps + web(8443) + other(81));
    await until('failing status', () => relayStatus(broker)?.testsFailing === true);
    await relay.idle();
    expect(revisionOf(broker, 'a')).toBe('10');
    expect(revisionOf(broker, 'b')).toBe('10');
    expect(relayStatus(broker)).toMatchObject({ testsFailing: true, failingRevision: '11', publishedRevision: '10', tests: { failed: 1 } });
    expect(relayStatus(broker)!.failures[0]).toEqual({ test: 'office reaches the web server (node a, eth0)', expected: 'allow', got: 'deny' });
    expect(events).toContain('failing 11 1/2 office reaches the web server (node a, eth0)');

    // Revision 12 still fails: still nothing.
    source.push('12', heps + web(8443) + other(82));
    await until('failing at 12', () => relayStatus(broker)?.failingRevision === '12');
    await relay.idle();
    expect(revisionOf(broker, 'b')).toBe('10');

    // Revision 13 fixes a's policy only; b's change (made at 11 and 12) goes out with it.
    source.push('13', heps + web(443) + other(82));
    await until('published 13', () => revisionOf(broker, 'b') === '13');
    // a's plan at 13 is the one it holds from 10 (same content): nothing to send it.
    expect(revisionOf(broker, 'a')).toBe('10');
    await until('status passing', () => relayStatus(broker)?.testsFailing === false && relayStatus(broker)?.publishedRevision === '13');
    expect(relayStatus(broker)!.failingRevision).toBeUndefined();
    expect(events.at(-1)).toBe('passing 13');
  } finally {
    await relay.stop();
  }
});

test('a relay whose very first state fails publishes nothing at all', async () => {
  const broker = new FakeBroker();
  const link = broker.link();
  link.connect();
  const source = new PushSource(heps + web(8443));
  const relay = await startRelay({ source, link, signingKey: keys.privateKey, topicPrefix: PREFIX, log: pino({ level: 'silent' }), quietMs: 1, maxWaitMs: 5, resignIntervalMs: 0, retainedQuietMs: 30, auditIntervalMs: 0, tests: TESTS });
  try {
    await until('failing status', () => relayStatus(broker)?.testsFailing === true);
    await relay.idle();
    expect([...broker.retained.keys()].filter((t) => t.endsWith('/snapshot') || t.endsWith('/expected'))).toEqual([]);
    expect(relayStatus(broker)!.publishedRevision).toBeUndefined();
  } finally {
    await relay.stop();
  }
});
