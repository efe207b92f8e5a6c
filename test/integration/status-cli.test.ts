/**
 * `outpost status` against a real agent in a lab namespace: local mode (real nft, real packets)
 * and relay mode (real Mosquitto, the real relay). While running, after stopping (SIGTERM and
 * kill -9), after a failed apply, with an invalid resource held back, with the table deleted by
 * someone else; -o json validated against its schema; --watch until SIGINT. And the retained
 * MQTT status: revision, hash and the new facts, and the offline status keeping revision and hash.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { EnforcementHarness, MAIN, isRoot, tcp } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import type { LabProcess } from '../lab/lab.ts';
import { StatusReadErrorSchema, StatusReportSchema, type StatusReportJson } from '../../src/protocol/status-report.ts';
import { SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';
import { decodeStatus, type AgentStatus } from '../../src/protocol/status.ts';
import { snapshotTopic, statusTopic } from '../../src/protocol/topics.ts';

const GW1 = '198.18.1.1';
const HEPS = hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } });
const WEB = gnp('web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]\negress: [{action: Allow}]`);
const BROKEN = gnp('broken', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}]`);

async function until<T>(what: string, get: () => Promise<T>, ok: (x: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const x = await get();
    if (ok(x)) return x;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(x).slice(0, 3000)}`);
    await Bun.sleep(100);
  }
}

const webIn = (r: StatusReportJson) => r.endpoints.find((e) => e.name === 'gw-eth1')?.stages.find((s) => s.stage === 'fh')?.tiers.find((t) => t.tier === 'default')?.policies.find((p) => p.key === 'default/web');

describe.skipIf(!isRoot)('outpost status, local mode', () => {
  let h: EnforcementHarness;
  let agent: LabProcess | undefined;
  let failMarker: string;
  let wrapper: string;

  const status = async (extra: string[] = []) => {
    const r = await h.s.lab.exec('gw', [process.execPath, MAIN, 'status', '--state', h.state, ...extra], { reject: false, timeoutMs: 20_000 });
    return { code: r.exitCode, out: r.stdout, err: r.stderr };
  };
  const json = async (): Promise<{ code: number | null | undefined; report: StatusReportJson }> => {
    const r = await status(['-o', 'json']);
    const parsed = v.safeParse(StatusReportSchema, JSON.parse(r.out));
    if (!parsed.success) throw new Error(`status -o json does not fit its schema: ${JSON.stringify(parsed.issues[0]?.path?.map((p) => (p as { key: unknown }).key))} ${parsed.issues[0]?.message}\n${r.out.slice(0, 2000)}`);
    return { code: r.code, report: parsed.output };
  };
  const startAgent = async () => {
    agent = h.spawnAgent(['--nft', wrapper]);
    await agent.waitFor(/ruleset in force/, 20_000);
  };

  beforeAll(async () => {
    h = await EnforcementHarness.create();
    // Real nft, unless the marker exists: then an apply fails like a rejected transaction.
    wrapper = join(h.state, '..', 'flaky-nft');
    failMarker = join(h.state, '..', 'fail-nft');
    await writeFile(wrapper, `#!/bin/sh\nfor a in "$@"; do [ "$a" = "-f" ] && [ -e "${failMarker}" ] && { echo "Error: simulated failure" >&2; exit 1; }; done\nexec nft "$@"\n`);
    await chmod(wrapper, 0o755);
    await h.writeResources({ 'heps.yaml': HEPS, 'web.yaml': WEB, 'broken.yaml': BROKEN });
    await startAgent();
  });
  afterAll(async () => {
    await agent?.stop();
    await h?.destroy();
  });

  test('while running: in sync, HEPs and their interfaces, policies with counters that follow real packets, the held-back resource', async () => {
    const { code, report } = await json();
    expect(code).toBe(0);
    expect(report).toMatchObject({ node: 'gw', source: 'local', state: 'in-sync', table: 'present', exitCode: 0, matchesNothing: false, agent: { running: true, pid: agent!.pid } });
    expect(report.endpoints.map((e) => [e.name, e.interfaces])).toEqual([['gw-eth1', ['eth1']]]);
    expect(report.heldBack).toMatchObject({ count: 1, items: [{ kind: 'GlobalNetworkPolicy', name: 'broken', lastValidInForce: false, reason: expect.stringContaining('90:80') }] });
    expect(report.lastGoodApply?.durationMs).toBeGreaterThan(0);

    const before = webIn(report)!;
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
    const after = webIn((await json()).report)!;
    expect(after.evaluated!.packets).toBeGreaterThan(before.evaluated!.packets);
    expect(after.allowed!.packets).toBeGreaterThan(before.allowed!.packets);
    expect(after.rules[0]).toMatchObject({ comment: 'policy default/web ingress[0]' });
    expect(after.rules[0]!.packets).toBeGreaterThan(0);

    const text = await status();
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^node +gw$/m);
    expect(text.out).toMatch(/^state +in-sync/m);
    expect(text.out).toMatch(/gw-eth1 +eth1/);
    expect(text.out).toContain('default/web');
    expect(text.out).toContain("GlobalNetworkPolicy broken");
  }, 60_000);

  test('fixing the invalid resource clears it from the held-back list', async () => {
    await h.writeResources({ 'heps.yaml': HEPS, 'web.yaml': WEB });
    const r = await until('held back cleared', async () => (await json()).report, (x) => (x.heldBack?.count ?? 0) === 0);
    expect(r.state).toBe('in-sync');
    await h.writeResources({ 'heps.yaml': HEPS, 'web.yaml': WEB, 'broken.yaml': BROKEN });
    await until('held back again', async () => (await json()).report, (x) => x.heldBack?.count === 1);
  }, 60_000);

  test('a staged policy: what it would have denied, counted from real packets', async () => {
    const staged = `apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: no-plain-http}\nspec:\n  selector: role == 'gw'\n  types: [Ingress]\n  ingress: [{action: Deny, protocol: TCP, destination: {ports: [80]}}]\n`;
    await h.writeResources({ 'heps.yaml': HEPS, 'web.yaml': WEB, 'broken.yaml': BROKEN, 'staged.yaml': staged });
    await until('staged in the status', async () => (await json()).report, (x) => (x.staged ?? []).some((c) => c.policy === 'no-plain-http'));
    // Enforcement is unchanged (web still allows 80), and the staged policy counts the would-be denial.
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 80, true)])).toEqual([]);
    const r = (await json()).report;
    const c = r.staged!.find((x) => x.policy === 'no-plain-http' && x.direction === 'ingress')!;
    expect(c.wouldDeny.packets).toBeGreaterThanOrEqual(2);
    expect((await status()).out).toContain('would deny');
    await h.writeResources({ 'heps.yaml': HEPS, 'web.yaml': WEB, 'broken.yaml': BROKEN });
    await until('staged gone', async () => (await json()).report, (x) => x.staged === undefined);
  }, 60_000);

  test('--watch prints again until SIGINT, then exits 0', async () => {
    const p = h.s.lab.spawn('gw', [process.execPath, MAIN, 'status', '--state', h.state, '--watch', '1']);
    await until('two reports', async () => p.stdout.split('\n').filter((l) => /^node +gw$/.test(l)).length, (n) => n >= 2);
    process.kill(p.pid!, 'SIGINT');
    await until('watch exited', async () => p.running, (r) => !r, 5000);
    expect(await p.exited).toBe(0 as number | null);
    expect(p.stderr).toBe('');
  }, 60_000);

  test('--watch into a pipe that closes ends quietly with 0; --config names the state dir', async () => {
    const r = await h.s.lab.exec('gw', ['bash', '-c', `set -o pipefail; '${process.execPath}' '${MAIN}' status --state '${h.state}' --watch 1 | head -1`], { reject: false, timeoutMs: 20_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^node +gw$/);
    expect(r.stderr).toBe('');
    const conf = join(h.state, '..', 'agent.yaml');
    await writeFile(conf, `node: gw\nstate: ${h.state}\nresources: [${h.dir}]\n`);
    const c = await h.s.lab.exec('gw', [process.execPath, MAIN, 'status', '--config', conf], { reject: false });
    expect(c.exitCode).toBe(0);
    expect(c.stdout).toMatch(/^state +in-sync/m);
  }, 60_000);

  test('a failed apply: state error with the reason, the last good apply kept', async () => {
    await writeFile(failMarker, '');
    await writeFile(join(h.dir, 'web.yaml'), WEB.replace('[80]', '[8080]'));
    const r = await until('state error', async () => (await json()).report, (x) => x.state === 'error');
    expect(r.reason).toContain('simulated failure');
    expect(r.lastApply).toMatchObject({ ok: false, error: expect.stringContaining('simulated failure') });
    expect(r.lastGoodApply?.ok).toBe(true);
    expect((await status()).code).toBe(1);
    await rm(failMarker);
    await until('in sync again', async () => (await json()).report, (x) => x.state === 'in-sync', 20_000);
    await writeFile(join(h.dir, 'web.yaml'), WEB);
    await until('web on 80 again', async () => webIn((await json()).report)?.rules.length ?? 0, (n) => n > 0);
  }, 60_000);

  test('the agent stopped (SIGTERM, then kill -9): status still reads, says so, exit 1', async () => {
    await agent!.stop();
    let { code, report } = await json();
    expect(code).toBe(1);
    expect(report).toMatchObject({ state: 'in-sync', table: 'present', agent: { running: false } });
    expect(report.problems.join()).toContain('not running');

    await startAgent();
    expect((await json()).report.agent).toMatchObject({ running: true, lockHolder: agent!.pid });
    agent!.killSync();
    await until('agent gone', async () => agent!.running, (r) => !r, 5000);
    ({ code, report } = await json());
    expect(code).toBe(1);
    expect(report.agent.running).toBe(false);
    expect(report.state).toBe('in-sync');
  }, 60_000);

  test('the table deleted by someone else (agent stopped): ERROR table missing, loudly', async () => {
    await h.deleteTable();
    const { code, report } = await json();
    expect(code).toBe(1);
    expect(report).toMatchObject({ state: 'error', table: 'missing', reason: expect.stringContaining('table missing') });
    const text = await status();
    expect(text.out).toMatch(/^state +ERROR/m);
    expect(text.out).toContain('MISSING');
  }, 60_000);

  test('a node name that matches no HEP: the agent warns, status says so', async () => {
    const state = join(h.state, '..', 'state-nobody');
    const r = await h.s.lab.exec('gw', [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'nobody', '--resources', h.dir, '--state', state, '--once'], { reject: false, timeoutMs: 30_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/"level":"warn".*node name 'nobody' matches no HostEndpoint/);
    const s2 = await h.s.lab.exec('gw', [process.execPath, MAIN, 'status', '--state', state, '-o', 'json'], { reject: false });
    const rep2 = v.parse(StatusReportSchema, JSON.parse(s2.stdout));
    expect(rep2).toMatchObject({ node: 'nobody', matchesNothing: true, endpoints: [], agent: { running: false } });
    expect(rep2.warnings.join()).toContain('matches no HostEndpoint');
    await h.deleteTable();
  }, 60_000);

  test('metricsListen: the agent serves /readyz (ready after its first apply) and /metrics', async () => {
    await agent?.stop();
    const p = h.spawnAgent(['--metrics-listen', '127.0.0.1:9469']);
    try {
      await p.waitFor(/ruleset in force/, 20_000);
      const get = async (path: string) => (await h.s.lab.exec('gw', ['curl', '-s', '-w', '\n%{http_code}', `http://127.0.0.1:9469${path}`], { reject: false })).stdout;
      expect(await until('ready', () => get('/readyz'), (t) => t.endsWith('\n200'))).toContain('ready');
      expect(await get('/metrics')).toMatch(/^outpost_agent_applies_total\{result="ok"\} [1-9]/m);
    } finally {
      await p.stop();
    }
  }, 60_000);

  test('no status file: exit 2 and why', async () => {
    const empty = join(h.state, '..', 'empty-state');
    await mkdir(empty, { recursive: true });
    const r = await h.s.lab.exec('gw', [process.execPath, MAIN, 'status', '--state', empty], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('no status file');
    const j = await h.s.lab.exec('gw', [process.execPath, MAIN, 'status', '--state', empty, '-o', 'json'], { reject: false });
    expect(j.exitCode).toBe(2);
    expect(v.is(StatusReadErrorSchema, JSON.parse(j.stdout))).toBe(true);
  }, 60_000);
});

describe.skipIf(!isRoot)('outpost status, relay mode (real Mosquitto)', () => {
  let h: SyncLab;
  let dir: string;
  let agent: LabProcess | undefined;
  let relay: LabProcess | undefined;

  const report = async () => {
    const r = await h.lab.exec('gw', [process.execPath, MAIN, 'status', '--state', h.path('state-gw'), '-o', 'json'], { reject: false, timeoutMs: 20_000 });
    return v.parse(StatusReportSchema, JSON.parse(r.stdout));
  };
  const retainedStatus = async (): Promise<AgentStatus | undefined> => {
    const raw = await h.retained(statusTopic('outpost/v1', 'gw'));
    const s = raw ? decodeStatus(raw) : undefined;
    return s?.ok ? s.status : undefined;
  };

  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    dir = h.path('policies');
    await mkdir(dir);
    await writeFile(join(dir, 'heps.yaml'), HEPS);
    await writeFile(join(dir, 'web.yaml'), WEB);
    relay = h.relay(['--resources', dir]);
    agent = h.agent('gw');
    await waitLog(agent, inForce(), 20_000);
  });
  afterAll(async () => {
    await agent?.stop();
    await relay?.stop();
    await h?.destroy();
  });

  test('status and the retained MQTT status agree: revision, hash, source, HEPs and interfaces', async () => {
    const line = await waitLog(agent!, inForce());
    const r = await until('in sync', report, (x) => x.state === 'in-sync');
    expect(r).toMatchObject({ source: 'relay', revision: String(line['revision']), hash: String(line['hash']), table: 'present', exitCode: 0 });
    expect(r.endpoints.map((e) => [e.name, e.interfaces])).toEqual([['gw-eth1', ['eth1']]]);
    const st = await until('retained status in sync', retainedStatus, (s) => s?.state === 'in-sync' && s.appliedAt !== undefined);
    expect(st).toMatchObject({ revision: r.revision, hash: r.hash, source: 'relay', endpoints: [{ name: 'gw-eth1', interfaces: ['eth1'] }] });
    expect(st?.applyMs).toBeGreaterThanOrEqual(0);
    expect(st?.matchesNothing).toBeUndefined();
  }, 60_000);

  test('a refused snapshot is counted with its reason', async () => {
    await h.publish(snapshotTopic('outpost/v1', 'gw'), '{"not": "a snapshot"}', false);
    const r = await until('refusal counted', report, (x) => Object.keys(x.refused).length > 0);
    expect(r.lastRefusal?.reason).toBe(Object.keys(r.refused)[0]);
    expect(r.state).toBe('in-sync');
    const st = await until('refusal in the retained status', retainedStatus, (s) => Object.keys(s?.refused ?? {}).length > 0);
    expect(st?.revision).toBe(r.revision);
  }, 60_000);

  test('resources the relay holds back as invalid show on the host and in the retained status', async () => {
    await writeFile(join(dir, 'broken.yaml'), BROKEN);
    const r = await until('held back on the host', report, (x) => (x.heldBack?.count ?? 0) > 0, 30_000);
    expect(r.heldBack?.items.some((i) => i.name === 'broken')).toBe(true);
    expect(r.warnings.join()).toContain('held back');
    await until('held back in the retained status', retainedStatus, (s) => (s?.heldBack ?? 0) > 0);
    await rm(join(dir, 'broken.yaml'));
    await until('held-back list empty again', report, (x) => (x.heldBack?.count ?? 0) === 0, 30_000);
  }, 60_000);

  test('no cache and no broker at first start: the log says nothing was ever applied', async () => {
    const p = h.lab.spawn('gw', [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'gw', '--broker', 'mqtt://198.18.4.2:1884', '--trust-key', h.path('relay.pub'), '--state', h.path('state-fresh')]);
    try {
      const line = await waitLog(p, (l) => l.msg.startsWith('broker unreachable'), 20_000);
      expect(line.msg).toContain('no snapshot was ever applied');
      expect(p.stderr).not.toContain('enforcement stays as last applied');
      const r = await h.lab.exec('gw', [process.execPath, MAIN, 'status', '--state', h.path('state-fresh'), '-o', 'json'], { reject: false });
      expect(r.exitCode).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ state: 'error', reason: 'no snapshot yet', agent: { running: true } });
    } finally {
      await p.stop();
    }
  }, 60_000);

  test('a first start without cache: once the first snapshot is in force the will is renewed, so kill -9 still names it', async () => {
    const fresh = h.lab.spawn('c2', [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'c2', '--broker', 'mqtt://198.18.4.2:1883', '--trust-key', h.path('relay.pub'), '--state', h.path('state-c2-fresh')]);
    try {
      await writeFile(join(dir, 'c2.yaml'), hep('c2-eth0', { iface: 'eth0', node: 'c2', labels: { role: 'c2' } }));
      const applied = await waitLog(fresh, inForce(), 30_000);
      await waitLog(fresh, (l) => l.msg.startsWith('renewing the last will'), 10_000);
      // Connected again, with the new will.
      await until('reconnected', async () => logLines(fresh).filter((l) => l.msg === 'connected to broker').length, (n) => n >= 2, 10_000);
      const c2Status = async () => {
        const raw = await h.retained(statusTopic('outpost/v1', 'c2'));
        const st = raw ? decodeStatus(raw) : undefined;
        return st?.ok ? st.status : undefined;
      };
      await until('c2 in sync', c2Status, (x) => x?.state === 'in-sync');
      fresh.killSync();
      const will = await until('c2 offline', c2Status, (x) => x?.state === 'offline', 30_000);
      expect(will).toMatchObject({ revision: String(applied['revision']), hash: String(applied['hash']) });
    } finally {
      await fresh.stop();
      await rm(join(dir, 'c2.yaml'), { force: true });
      await h.lab.exec('c2', ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
    }
  }, 90_000);

  test('the offline status keeps revision and hash: a clean stop, and kill -9 (the last will)', async () => {
    const inForceNow = await report();
    await agent!.stop();
    const clean = await until('offline after a clean stop', retainedStatus, (s) => s?.state === 'offline');
    expect(clean).toMatchObject({ revision: inForceNow.revision, hash: inForceNow.hash, source: 'relay' });
    expect((await report()).agent.running).toBe(false);

    // Restarted from its cache, it connects knowing what is in force: its will names it.
    agent = h.agent('gw');
    await waitLog(agent, (l) => l.msg === 'connected to broker', 20_000);
    await until('back in sync', retainedStatus, (s) => s?.state === 'in-sync');
    agent.killSync();
    const will = await until('the will', retainedStatus, (s) => s?.state === 'offline', 30_000);
    expect(will).toMatchObject({ revision: inForceNow.revision, hash: inForceNow.hash });
    const r = await report();
    expect(r).toMatchObject({ agent: { running: false }, revision: inForceNow.revision, table: 'present' });
  }, 60_000);

  test('a clean stop while the broker hangs (connected, never answering) still ends: the offline status is not waited for', async () => {
    await agent?.stop();
    agent = h.agent('gw');
    await waitLog(agent, inForce(), 20_000);
    await waitLog(agent, (l) => l.msg === 'connected to broker', 20_000);
    h.mosquitto.freeze(true);
    try {
      // Without the bound the QoS 1 publish of the offline status waits for a PUBACK that never
      // comes, and the agent outlives its SIGTERM (the supervisor then has to kill it).
      const p = agent;
      process.kill(p.pid!, 'SIGTERM');
      const exited = await Promise.race([p.exited.then(() => true), Bun.sleep(20_000).then(() => false)]);
      if (!exited) console.error(`the agent did not exit:\n${p.stderr.slice(-3000)}`);
      expect(exited).toBe(true);
    } finally {
      h.mosquitto.freeze(false);
    }
  }, 60_000);
});
