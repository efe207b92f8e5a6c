/**
 * Faults that must be loud and retried, never silent or fatal: a full or read-only state dir,
 * nft missing or hanging, a second agent on one state dir. Real Mosquitto, real nft in a lab
 * namespace, real packets. The state dir is a small tmpfs inside the agent's own mount
 * namespace (`unshare -m`), so filling it or remounting it read-only never touches the machine.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { snapshotTopic, statusTopic } from '../../src/protocol/topics.ts';
import { decodeStatus } from '../../src/protocol/status.ts';
import { isRoot, MAIN } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { BROKER, SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';
import type { LabProcess } from '../lab/lab.ts';

const GW1 = '198.18.1.1';
const TOPIC = snapshotTopic('outpost/v1', 'gw');
let h: SyncLab;
let state: string;
let agent: LabProcess;

/** A snapshot allowing `port`; `padding` extra nets make it big enough to need new database pages. */
function snapshot(port: number, revision: string, padding = 0): Uint8Array {
  // Lists are capped (256 nets per rule), so the padding is spread over rules of 200 nets.
  const rules = Array.from({ length: padding }, (_, r) => {
    const nets = Array.from({ length: 200 }, (_, i) => `"10.${r}.${i}.0/24"`).join(', ');
    return `, {action: Allow, protocol: UDP, source: {nets: [${nets}]}}`;
  }).join('');
  const text = hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) +
    gnp('web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}${rules}]`);
  const { resources, errors } = parseManifest(text, 'test');
  if (errors.length) throw new Error(JSON.stringify(errors));
  return encodeSnapshot({ node: 'gw', revision, plan: computeNodePlan({ node: 'gw', resources }).plan, issuedAt: Date.now() }, h.keys.relay.privateKey);
}

const agentArgv = (extra: string[] = []) => [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'gw', '--broker', BROKER, '--trust-key', h.path('relay.pub'), '--state', state, ...extra];

/** The agent in its own mount namespace, its state dir a 1 MiB tmpfs there. */
function spawnOnTmpfs(extra: string[] = []): LabProcess {
  const cmd = `mount -t tmpfs -o size=1m,mode=0700 outpost-test ${state} && exec "$@"`;
  return h.lab.spawn('gw', ['unshare', '-m', '--propagation', 'private', 'sh', '-c', cmd, 'sh', ...agentArgv(extra)]);
}
/** Runs a command in the agent's mount namespace (where its tmpfs is). */
const inAgentMounts = (argv: string[]) => h.lab.exec('gw', ['nsenter', '-t', String(agent.pid), '-m', ...argv], { reject: false });

async function status(): Promise<{ state: string; revision?: string | undefined; lastError?: string | undefined } | undefined> {
  const raw = await h.retained(statusTopic('outpost/v1', 'gw'));
  const st = raw ? decodeStatus(raw) : undefined;
  return st?.ok ? st.status : undefined;
}
async function waitStatus(pred: (s: NonNullable<Awaited<ReturnType<typeof status>>>) => boolean, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  let last: Awaited<ReturnType<typeof status>>;
  while (Date.now() < end) {
    last = await status();
    if (last && pred(last)) return last;
    await Bun.sleep(200);
  }
  throw new Error(`status never matched; last: ${JSON.stringify(last!)}\n${agent.stderr.slice(-3000)}`);
}
const flows = async () => ({ 80: await h.tcp('c1', GW1, 80), 443: await h.tcp('c1', GW1, 443) });

describe.skipIf(!isRoot)('faults are loud and retried', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    state = h.path('state-gw');
    mkdirSync(state, { recursive: true });
    agent = spawnOnTmpfs();
    await h.publish(TOPIC, snapshot(80, '10'));
    await waitLog(agent, inForce('10'));
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('a full state dir: the snapshot is still enforced, the write fails loudly (status error) and is retried until space returns', async () => {
    // Fill the tmpfs (dd stops at ENOSPC).
    await inAgentMounts(['dd', 'if=/dev/zero', `of=${state}/filler`, 'bs=64k']);
    const before = logLines(agent).length;
    await h.publish(TOPIC, snapshot(443, '11', 10));
    await waitLog(agent, inForce('11'), 15_000, before);
    expect(await flows()).toEqual({ 80: false, 443: true });
    const err = await waitLog(agent, (l) => l.msg.startsWith('cannot write the state dir'), 10_000, before);
    expect(String(err['err'])).toMatch(/full|SQLITE_FULL|disk/i);
    expect(agent.stderr).not.toMatch(/^\s*at /m); // a log line, not a raw stack dump
    const st = await waitStatus((s) => s.state === 'error');
    expect(st.revision).toBe('11');
    await inAgentMounts(['rm', '-f', `${state}/filler`]);
    await waitLog(agent, (l) => l.msg === 'state saved after earlier failures', 40_000, before);
    await waitStatus((s) => s.state === 'in-sync');
  });

  test('a second agent on the same state dir refuses to start; after kill -9 of the first, one starts', async () => {
    // In the first agent's mount namespace, so both see the same (tmpfs) state dir.
    const second = h.lab.spawn('gw', ['nsenter', '-t', String(agent.pid), '-m', ...agentArgv()]);
    expect(await second.exited).toBe(2);
    expect(second.stderr).toContain(`another outpost agent (pid ${agent.pid}) is running on the state directory ${state}`);
    process.kill(agent.pid!, 'SIGKILL');
    await agent.exited;
    // The tmpfs went with the first agent's mount namespace: the third runs on the real dir.
    const third = h.lab.spawn('gw', agentArgv());
    await waitLog(third, inForce('11'));
    await third.stop();
  });

  test('boot from a read-only state dir: the cached snapshot is enforced, nothing is moved aside', async () => {
    await h.lab.exec('gw', ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
    // A read-only bind of the (real) state dir over itself, in the agent's own mount namespace.
    const cmd = `mount --bind ${state} ${state} && mount -o remount,bind,ro ${state} && exec "$@"`;
    agent = h.lab.spawn('gw', ['unshare', '-m', '--propagation', 'private', 'sh', '-c', cmd, 'sh', ...agentArgv()]);
    await waitLog(agent, (l) => l.msg === 'ruleset in force' && l['from'] === 'cache');
    expect(await flows()).toEqual({ 80: false, 443: true });
    expect(agent.stderr).toContain('left in place');
    // A new snapshot is enforced all the same; storing it fails loudly until the dir is writable.
    const before = logLines(agent).length;
    await h.publish(TOPIC, snapshot(80, '12'));
    await waitLog(agent, inForce('12'), 15_000, before);
    expect(await flows()).toEqual({ 80: true, 443: false });
    await waitLog(agent, (l) => l.msg.startsWith('cannot write the state dir'), 10_000, before);
    await waitStatus((s) => s.state === 'error' && s.revision === '12');
    await inAgentMounts(['mount', '-o', 'remount,bind,rw', state]);
    await waitLog(agent, (l) => l.msg === 'state saved after earlier failures', 40_000, before);
    await waitStatus((s) => s.state === 'in-sync');
    expect(agent.stderr).not.toContain('moved it to');
    await agent.stop();
  });

  test('nft hanging: the apply times out, the previous ruleset stays, and it is retried until nft answers', async () => {
    const marker = h.path('hang-nft');
    const wrapper = h.path('hanging-nft');
    await writeFile(wrapper, `#!/bin/sh\nfor a in "$@"; do [ "$a" = "-f" ] && [ -e "${marker}" ] && exec sleep 600; done\nexec nft "$@"\n`);
    await chmod(wrapper, 0o755);
    agent = h.lab.spawn('gw', agentArgv(['--nft', wrapper, '--nft-timeout-ms', '1000']));
    await waitLog(agent, inForce('12'));
    await writeFile(marker, '');
    const before = logLines(agent).length;
    await h.publish(TOPIC, snapshot(443, '13'));
    const failed = await waitLog(agent, (l) => l.msg.startsWith('applying ruleset failed'), 15_000, before);
    expect(String(failed['err'])).toContain('timed out after 1000 ms');
    expect(await flows()).toEqual({ 80: true, 443: false });
    await Bun.$`rm -f ${marker}`;
    await waitLog(agent, (l) => l.msg === 'ruleset applied after earlier failures', 20_000, before);
    expect(await flows()).toEqual({ 80: false, 443: true });
    await agent.stop();
  });

  test('the memfd feed is still one atomic transaction: a bad last command leaves nothing of the document', async () => {
    const runner = join(import.meta.dir, '../../src/nft/runner.ts');
    const script = `
      const { NftRunner } = await import(${JSON.stringify(runner)});
      const t = { family: 'inet', name: 'outpost-atomic' };
      const r = await new NftRunner('/nonexistent/state').apply({ nftables: [
        { add: { table: t } },
        { add: { chain: { ...t, table: t.name, name: 'c' } } },
        { add: { rule: { family: 'inet', table: t.name, chain: 'c', expr: [{ jump: { target: 'missing' } }] } } },
      ] });
      const ok = await new NftRunner('/nonexistent/state').apply({ nftables: [{ add: { table: t } }] });
      console.log(JSON.stringify({ bad: r.ok, good: ok.ok }));`;
    const r = await h.lab.exec('gw', [process.execPath, '-e', script]);
    expect(JSON.parse(r.stdout.trim())).toEqual({ bad: false, good: true });
    // The good one applied (through memfd: the state dir does not exist); the bad one left no chain.
    const listing = await h.lab.exec('gw', ['nft', 'list', 'table', 'inet', 'outpost-atomic']);
    expect(listing.stdout).not.toContain('chain c');
    await h.lab.exec('gw', ['nft', 'delete', 'table', 'inet', 'outpost-atomic']);
  });

  test('nft missing: a logged failure, retried, the agent keeps running', async () => {
    agent = h.lab.spawn('gw', agentArgv(['--nft', '/nonexistent/nft']));
    const failed = await waitLog(agent, (l) => l.msg.startsWith('applying ruleset failed'));
    expect(String(failed['err'])).toMatch(/ENOENT|not found/);
    await waitLog(agent, (l) => l.msg.startsWith('applying ruleset failed') && l['failures'] === 2, 10_000);
    expect(agent.running).toBe(true);
    expect(await flows()).toEqual({ 80: false, 443: true });
    await agent.stop();
  });
});
