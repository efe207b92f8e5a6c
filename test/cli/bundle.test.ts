/**
 * `outpost bundle export | verify | import`: the exported file is byte for byte what the relay
 * publishes; verify and import refuse tampered, truncated, wrong-node, wrong-key and older
 * bundles with the reason; import with no agent running stores the bundle in the agent's cache
 * under the state-dir lock, and with the lock held hands it to the agent's inbox.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleCommand } from '../../src/cli/bundle-command.ts';
import { generateSigningKeyPair, privateKeyToPem, publicKeyToPem } from '../../src/platform/signing.ts';
import { FolderSource } from '../../src/datastore/folder-source.ts';
import { startRelay } from '../../src/relay/relay.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { decodeSnapshot } from '../../src/protocol/snapshot.ts';
import { snapshotTopic } from '../../src/protocol/topics.ts';
import { SnapshotCache } from '../../src/cache/snapshot-cache.ts';
import { lockStateDir } from '../../src/agent/state-lock.ts';
import { inboxOf } from '../../src/agent/bundle-drop.ts';
import { FakeBroker } from '../unit/relay/fake-link.ts';
import { gnp, hep } from '../integration/fixtures.ts';
import { runCli } from './run-cli.ts';

let dir: string;
const keys = generateSigningKeyPair();
const other = generateSigningKeyPair();
const p = (n: string) => join(dir, n);

const run = (...args: string[]) => runCli(args, {}, bundleCommand);

/** The payload without the signature (its first line) and the header's issue time: both change with the signing time. */
const withoutIssueTime = (b: Uint8Array) => Buffer.from(b).toString('latin1').replace(/^[^\n]*\n/, '').replace(/"issuedAt":\d+,/, '');
/** The bundle with one bit of its compressed plan flipped. */
const tamper = (b: Buffer) => {
  const c = Buffer.from(b);
  c[c.length - 5]! ^= 1;
  return c;
};
const policy = (port: number) => gnp('web', `selector: role == 'web'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);
const importArgs = (file: string, node = 'gw') => ['import', file, '--config', '/dev/null', '--node', node, '--broker', 'mqtt://198.18.4.2:1883', '--trust-key', p('relay.pub'), '--state', p('state')];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-bundle-'));
  writeFileSync(p('relay.key'), privateKeyToPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(p('relay.pub'), publicKeyToPem(keys.publicKey));
  writeFileSync(p('other.pub'), publicKeyToPem(other.publicKey));
  mkdirSync(p('res'));
  writeFileSync(p('res/a.yaml'), hep('gw-eth1', { iface: 'eth1', node: 'gw', labels: { role: 'web' } }) + hep('c2-eth0', { iface: 'eth0', node: 'c2', labels: { role: 'web' } }) + policy(80));
  // Files older than now: the folder's revision is their time, stable across both reads.
  Bun.spawnSync(['touch', '-d', '2026-01-01T00:00:00Z', p('res/a.yaml'), p('res')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bundle export', () => {
  test('--node writes exactly the bytes the relay publishes for that node', async () => {
    const r = await run('export', '--node', 'gw', '--resources', p('res'), '--signing-key', p('relay.key'), '--out', p('gw.bundle'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const broker = new FakeBroker();
    const link = broker.link();
    link.connect();
    const relay = await startRelay({ source: new FolderSource([p('res')], 20, undefined, { quietMs: 0 }), link, signingKey: keys.privateKey, topicPrefix: 'outpost/v1', log: createLogger('error'), quietMs: 1, maxWaitMs: 5, retainedQuietMs: 20 });
    const end = Date.now() + 5000;
    while (!broker.retained.has(snapshotTopic('outpost/v1', 'gw')) && Date.now() < end) await Bun.sleep(10);
    await relay.stop();
    const published = broker.retained.get(snapshotTopic('outpost/v1', 'gw'));
    expect(published).toBeDefined();
    // The same snapshot the relay signs: byte for byte once the signing time is set aside.
    expect(withoutIssueTime(readFileSync(p('gw.bundle')))).toEqual(withoutIssueTime(published!));
    expect(decodeSnapshot(readFileSync(p('gw.bundle')), { publicKey: keys.publicKey, node: 'gw' }).ok).toBe(true);
  });

  test('--all writes <node>.bundle for every node; a node without a host endpoint is an error, nothing written', async () => {
    const r = await run('export', '--all', '--resources', p('res'), '--signing-key', p('relay.key'), '--out-dir', p('all'));
    expect(r.code).toBe(0);
    expect(readdirSync(p('all')).sort()).toEqual(['c2.bundle', 'gw.bundle']);
    expect(withoutIssueTime(readFileSync(p('all/gw.bundle')))).toEqual(withoutIssueTime(readFileSync(p('gw.bundle'))));
    const none = await run('export', '--node', 'nobody', '--resources', p('res'), '--signing-key', p('relay.key'), '--out', p('nobody.bundle'));
    expect(none.code).toBe(1);
    expect(none.err).toContain('no host endpoint');
    expect(existsSync(p('nobody.bundle'))).toBe(false);
  });

  test('usage errors: no datastore, both --node and --all, a public key as signing key', async () => {
    await expect(run('export', '--node', 'gw', '--signing-key', p('relay.key'), '--out', p('x'))).rejects.toThrow('datastore');
    await expect(run('export', '--node', 'gw', '--all', '--resources', p('res'), '--signing-key', p('relay.key'), '--out', p('x'))).rejects.toThrow('exactly one of');
    await expect(run('export', '--node', 'gw', '--resources', p('res'), '--signing-key', p('relay.pub'), '--out', p('x'))).rejects.toThrow('public key');
  });
});

describe('bundle verify', () => {
  test('a valid bundle: what it holds', async () => {
    const r = await run('verify', p('gw.bundle'), '--trust-key', p('relay.pub'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('node:      gw');
    expect(r.out).toMatch(/revision: +\d+/);
    expect(r.out).toMatch(/hash: +sha256:[0-9a-f]{64}/);
    expect(r.out).toContain('endpoints: 1');
    expect(r.out).toContain('policies:  1');
  });

  const bad: [string, (b: Buffer) => Buffer | string, string, string[]?][] = [
    ['tampered', tamper, 'bad-signature'],
    ['truncated', (b) => b.subarray(0, 100), 'malformed'],
    ['empty', () => '', 'malformed'],
    ['wrong node', (b) => b, 'wrong-node', ['--node', 'c2']],
    ['wrong key', (b) => b, 'bad-signature', ['--trust-key', 'OTHER']],
  ];
  for (const [name, mutate, reason, extra] of bad) {
    test(`${name}: invalid, exit 1, reason ${reason}`, async () => {
      const f = p(`bad-${name.replace(' ', '-')}.bundle`);
      const before = readFileSync(p('gw.bundle'));
      const after = mutate(before);
      if (name === 'tampered') expect(Buffer.from(after).equals(before)).toBe(false);
      writeFileSync(f, after);
      const keyArgs = extra?.[0] === '--trust-key' ? ['--trust-key', p('other.pub')] : ['--trust-key', p('relay.pub'), ...(extra ?? [])];
      const r = await run('verify', f, ...keyArgs);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`INVALID (${reason})`);
      if (name === 'wrong key') expect(r.err).toContain('trusts');
    });
  }

  test('several trusted keys: a bundle signed by any of them verifies', async () => {
    const r = await run('verify', p('gw.bundle'), '--trust-key', p('other.pub'), '--trust-key', p('relay.pub'));
    expect(r.code).toBe(0);
  });
});

describe('bundle import', () => {
  test('no agent running: stored in the cache; older refused as stale; same again is a no-op', async () => {
    const r = await run(...importArgs(p('gw.bundle')));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('not running');
    const cache = SnapshotCache.open(p('state'));
    const row = cache.load('gw');
    cache.close();
    expect(row && Buffer.from(row.payload).equals(readFileSync(p('gw.bundle')))).toBe(true);
    const again = await run(...importArgs(p('gw.bundle')));
    expect(again.code).toBe(0);
    expect(again.out).toContain('already');

    // An older revision of the same node, genuinely signed: refused, the cache keeps the newer one.
    Bun.spawnSync(['touch', '-d', '2025-01-01T00:00:00Z', p('res/a.yaml'), p('res')]);
    expect((await run('export', '--node', 'gw', '--resources', p('res'), '--signing-key', p('relay.key'), '--out', p('old.bundle'))).code).toBe(0);
    Bun.spawnSync(['touch', '-d', '2026-01-01T00:00:00Z', p('res/a.yaml'), p('res')]);
    const old = await run(...importArgs(p('old.bundle')));
    expect(old.code).toBe(1);
    expect(old.err).toContain('refused (stale)');
    const c2 = SnapshotCache.open(p('state'));
    expect(decodeSnapshot(c2.load('gw')!.payload, { publicKey: keys.publicKey, node: 'gw' }).ok).toBe(true);
    expect(Buffer.from(c2.load('gw')!.payload).equals(readFileSync(p('gw.bundle')))).toBe(true);
    c2.close();
  });

  test('wrong node, wrong key, tampered: refused before the state dir is touched', async () => {
    const wrong = await run(...importArgs(p('all/c2.bundle')));
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('refused (wrong-node)');
    writeFileSync(p('other.key'), privateKeyToPem(other.privateKey), { mode: 0o600 });
    expect((await run('export', '--node', 'gw', '--resources', p('res'), '--signing-key', p('other.key'), '--out', p('forged.bundle'))).code).toBe(0);
    const forged = await run(...importArgs(p('forged.bundle')));
    expect(forged.code).toBe(1);
    expect(forged.err).toContain('refused (bad-signature)');
    writeFileSync(p('tampered.bundle'), tamper(readFileSync(p('gw.bundle'))));
    const tampered = await run(...importArgs(p('tampered.bundle')));
    expect(tampered.code).toBe(1);
    expect(tampered.err).toContain('refused (bad-signature)');
  });

  test('agent running (state dir locked): handed to the inbox; withdrawn if nobody takes it', async () => {
    const lock = await lockStateDir(p('state'));
    if (!lock.ok) throw new Error(lock.message);
    try {
      // A stand-in for the agent's inbox poll: answers the first bundle it sees.
      const inbox = inboxOf(p('state'));
      let seen = '';
      const fake = setInterval(() => {
        const b = existsSync(inbox) ? readdirSync(inbox).find((n) => n.endsWith('.bundle')) : undefined;
        if (!b) return;
        seen = readFileSync(join(inbox, b)).toString();
        writeFileSync(join(inbox, b.replace(/\.bundle$/, '.result')), JSON.stringify({ ok: true, message: 'revision 1 applied' }));
        rmSync(join(inbox, b));
      }, 20);
      const r = await run(...importArgs(p('gw.bundle')), '--wait', '5');
      clearInterval(fake);
      expect(r.code).toBe(0);
      expect(r.out).toContain('the running agent: revision 1 applied');
      expect(seen).toBe(readFileSync(p('gw.bundle')).toString());
      expect(readdirSync(inbox)).toEqual([]);

      const late = await run(...importArgs(p('gw.bundle')), '--wait', '0.3');
      expect(late.code).toBe(1);
      expect(late.err).toContain('withdrawn');
      expect(readdirSync(inbox)).toEqual([]);
    } finally {
      lock.release();
    }
  });
});
