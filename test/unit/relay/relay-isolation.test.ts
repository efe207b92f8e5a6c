/**
 * The relay's publish loop with an in-memory broker: one node whose plan cannot be computed or
 * whose snapshot is refused never holds back the others, and keeps what it has; a folder
 * datastore's revisions start above what the relay published before (retained snapshots
 * signed by its own key, its state dir), whatever the files' times.
 */
import { afterEach, beforeEach, describe, expect, mock, test } from 'bun:test';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import * as nodePlan from '../../../src/calc/node-plan.ts';
import * as snapshot from '../../../src/protocol/snapshot.ts';
import { parseManifest } from '../../../src/model/manifest.ts';
import { FolderSource } from '../../../src/datastore/folder-source.ts';
import { generateSigningKeyPair } from '../../../src/platform/signing.ts';
import { fileRevisionStore } from '../../../src/relay/revision-store.ts';
import { gnp, hep } from '../../integration/fixtures.ts';
import { FakeBroker, until } from './fake-link.ts';
import { PushSource } from './push-source.ts';

// Node "big" gets a snapshot over the size agents accept; node "crash"'s plan throws.
const realEncode = snapshot.encodeSnapshot;
const realPlan = nodePlan.computeNodePlan;
mock.module('../../../src/protocol/snapshot.ts', () => ({
  ...snapshot,
  encodeSnapshot: (input: Parameters<typeof realEncode>[0], key: Parameters<typeof realEncode>[1]) => {
    if (input.node === 'big' && input.plan.endpoints.length > 0) throw new snapshot.SnapshotEncodeError(`snapshot for big is 17000000 bytes, over the ${snapshot.MAX_SNAPSHOT_BYTES}-byte limit agents accept`);
    return realEncode(input, key);
  },
}));
mock.module('../../../src/calc/node-plan.ts', () => ({
  ...nodePlan,
  computeNodePlan: (input: Parameters<typeof realPlan>[0], shared?: Parameters<typeof realPlan>[1]) => {
    if (input.node === 'crash') throw new RangeError('Maximum call stack size exceeded.');
    return realPlan(input, shared);
  },
}));
const { startRelay } = await import('../../../src/relay/relay.ts');

const PREFIX = 'outpost/v1';
const topic = (node: string) => `${PREFIX}/nodes/${node}/snapshot`;
const keys = generateSigningKeyPair();
const other = generateSigningKeyPair();

function capture() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

const decode = (payload: Uint8Array | undefined, node: string) => {
  if (!payload) return undefined;
  const d = snapshot.decodeSnapshot(payload, { publicKey: keys.publicKey, node });
  return d.ok ? d.snapshot : undefined;
};
const heps = (...nodes: string[]) => nodes.map((n) => hep(`${n}-eth0`, { iface: 'eth0', node: n, labels: { role: 'gw' } })).join('');
const policy = (port: number) => gnp('web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);


describe('one node never holds back the others', () => {
  test('a node whose snapshot is refused (oversized) and one whose plan throws are logged by name; every other node is published, and theirs stay', async () => {
    const broker = new FakeBroker();
    // What the two bad nodes had before (a restart): it must stay, never be cleared.
    broker.retained.set(topic('big'), realEncode({ node: 'big', revision: '5', plan: realPlan({ node: 'big', resources: parseManifest(heps('big') + policy(80), 't').resources }).plan, issuedAt: Date.now() }, keys.privateKey));
    broker.retained.set(topic('crash'), realEncode({ node: 'crash', revision: '5', plan: realPlan({ node: 'crash', resources: parseManifest(heps('crash') + policy(80), 't').resources }).plan, issuedAt: Date.now() }, keys.privateKey));
    const link = broker.link();
    const { log, lines } = capture();
    const source = new PushSource(heps('a', 'big', 'crash', 'z') + policy(80));
    link.connect();
    const relay = await startRelay({ source, link, signingKey: keys.privateKey, topicPrefix: PREFIX, log, quietMs: 1, maxWaitMs: 5 });
    await until('a and z published', () => decode(broker.retained.get(topic('z')), 'z')?.revision === '10');
    await relay.idle();
    expect(decode(broker.retained.get(topic('a')), 'a')?.revision).toBe('10');
    expect(decode(broker.retained.get(topic('big')), 'big')?.revision).toBe('5');
    expect(decode(broker.retained.get(topic('crash')), 'crash')?.revision).toBe('5');
    expect(lines.filter((l) => l.level >= 50).map((l) => [l['node'], l.msg])).toEqual([
      ['crash', "cannot compute this node's plan; it keeps the snapshot it has"],
      ['big', 'snapshot refused; this node keeps the snapshot it has'],
    ]);
    // The next change still reaches the good nodes.
    source.push('11', heps('a', 'big', 'crash', 'z') + policy(443));
    await until('a at 11', () => decode(broker.retained.get(topic('a')), 'a')?.revision === '11');
    await relay.idle();
    expect(decode(broker.retained.get(topic('z')), 'z')?.revision).toBe('11');
    expect(broker.log.filter((p) => p.topic === topic('big') || p.topic === topic('crash'))).toEqual([]);
    await relay.stop();
  });
});

describe('folder revisions only move forward across relay restarts', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-relay-rev-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const old = new Date('2001-01-01T00:00:00Z');
  const writeOld = async (name: string, text: string, when = old) => {
    await writeFile(join(dir, 'policies', name), text);
    await utimes(join(dir, 'policies', name), when, when);
    await utimes(join(dir, 'policies'), when, when);
  };
  const folderSource = () => new FolderSource([join(dir, 'policies')], 20, undefined, { quietMs: 0 });

  test('files older than the retained snapshots: the relay starts above the highest one signed by its key, and stays monotonic', async () => {
    await Bun.write(join(dir, 'policies', '.keep'), '');
    await writeOld('p.yaml', heps('a', 'b') + policy(80));
    const broker = new FakeBroker();
    const held = '1700000000000000'; // what agents hold: newer than the files' times
    broker.retained.set(topic('a'), realEncode({ node: 'a', revision: held, plan: realPlan({ node: 'a', resources: parseManifest(heps('a') + policy(22), 't').resources }).plan, issuedAt: Date.now() }, keys.privateKey));
    // A forged snapshot (another key) far higher must not count.
    broker.retained.set(topic('b'), realEncode({ node: 'b', revision: '9000000000000000000', plan: realPlan({ node: 'b', resources: [] }).plan, issuedAt: Date.now() }, other.privateKey));
    const link = broker.link();
    link.connect();
    const { log } = capture();
    const relay = await startRelay({ source: folderSource(), link, signingKey: keys.privateKey, topicPrefix: PREFIX, log, quietMs: 1, maxWaitMs: 5, retainedQuietMs: 30 });
    await until('a above the held revision', () => BigInt(decode(broker.retained.get(topic('a')), 'a')?.revision ?? '0') > BigInt(held));
    await relay.idle();
    expect(decode(broker.retained.get(topic('a')), 'a')?.revision).toBe((BigInt(held) + 1n).toString());
    expect(decode(broker.retained.get(topic('b')), 'b')?.revision).toBe((BigInt(held) + 1n).toString());
    // Nothing below what agents hold went out first.
    const revs = broker.log.filter((p) => p.topic === topic('a')).map((p) => decode(p.payload, 'a')?.revision);
    expect(revs).toEqual([(BigInt(held) + 1n).toString()]);
    // An edit whose time is older still: the next revision up.
    await writeOld('p.yaml', heps('a', 'b') + policy(443), new Date('2001-01-02T00:00:00Z'));
    await until('the edit', () => decode(broker.retained.get(topic('a')), 'a')?.revision === (BigInt(held) + 2n).toString());
    await relay.stop();
  });

  test('with a state dir and a broker that lost everything: starts above the recorded revision, and records what it publishes', async () => {
    await Bun.write(join(dir, 'policies', '.keep'), '');
    await writeOld('p.yaml', heps('a') + policy(80));
    const store = fileRevisionStore(join(dir, 'state'), () => undefined);
    store.write(1_700_000_000_000_000n);
    const broker = new FakeBroker();
    const link = broker.link();
    link.connect();
    const { log } = capture();
    const relay = await startRelay({ source: folderSource(), link, signingKey: keys.privateKey, topicPrefix: PREFIX, log, quietMs: 1, maxWaitMs: 5, retainedQuietMs: 30, revisionStore: store });
    await until('a published', () => broker.retained.has(topic('a')));
    expect(decode(broker.retained.get(topic('a')), 'a')?.revision).toBe('1700000000000001');
    expect(store.read()).toBe(1_700_000_000_000_001n);
    await relay.stop();
  });

  test('files newer than anything published: their time is the revision (a restart with unchanged files publishes the same revision and content, issued no earlier)', async () => {
    await Bun.write(join(dir, 'policies', '.keep'), '');
    const when = new Date('2030-01-01T00:00:00Z');
    await writeOld('p.yaml', heps('a') + policy(80), when);
    const broker = new FakeBroker();
    const run = async () => {
      const link = broker.link();
      link.connect();
      const relay = await startRelay({ source: folderSource(), link, signingKey: keys.privateKey, topicPrefix: PREFIX, log: capture().log, quietMs: 1, maxWaitMs: 5, retainedQuietMs: 30 });
      await until('a published', () => broker.log.some((p) => p.topic === topic('a')));
      await relay.idle();
      await relay.stop();
      await link.close();
    };
    await run();
    const first = broker.retained.get(topic('a'));
    expect(decode(first, 'a')?.revision).toBe((BigInt(when.getTime()) * 1000n).toString());
    broker.log.length = 0;
    await run();
    const again = decode(broker.retained.get(topic('a')), 'a');
    expect(again?.revision).toBe(decode(first, 'a')?.revision);
    expect(again?.hash).toBe(decode(first, 'a')?.hash);
    expect(again!.issuedAt!).toBeGreaterThanOrEqual(decode(first, 'a')!.issuedAt!);
  });
});
