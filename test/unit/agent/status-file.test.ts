/**
 * The status file (agent/status-file.ts, protocol/local-status.ts), the report `outpost status`
 * builds from it (agent/status-report.ts), the retained MQTT status's new fields and the
 * status command's arguments.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatusFile, writeAtomic } from '../../../src/agent/status-file.ts';
import { endpointStatuses } from '../../../src/agent/status-plan.ts';
import { buildReport, TABLE_MISSING } from '../../../src/agent/status-report.ts';
import { formatReport } from '../../../src/agent/status-text.ts';
import { fanOut } from '../../../src/agent/observations.ts';
import { parseLocalStatus, type LocalStatus } from '../../../src/protocol/local-status.ts';
import { AgentStatusSchema, decodeStatus, encodeStatus, lastWillPayload, MAX_STATUS_ENDPOINTS } from '../../../src/protocol/status.ts';
import { parseStatusArgs } from '../../../src/cli/status-command.ts';
import { summariseStaged } from '../../../src/agent/staged-summary.ts';
import { StatusReportSchema } from '../../../src/protocol/status-report.ts';
import { buildRuleset } from '../../../src/agent/host-ruleset.ts';
import { parseManifest } from '../../../src/model/manifest.ts';
import * as v from 'valibot';
import type { Logger } from '../../../src/platform/logger.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'outpost-status-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) {
    chmodSync(d, 0o755);
    rmSync(d, { recursive: true, force: true });
  }
});

const YAML = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth1, labels: {role: gw}}
spec: {node: gw, interfaceName: eth1, profiles: [allow-all, gone]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-any, labels: {role: gw}}
spec: {node: gw, interfaceName: "*"}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.block}
spec: {tier: security, order: 1, selector: "role == 'gw'", ingress: [{action: Deny, source: {nets: [198.18.2.0/24]}}], egress: [{action: Pass}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: raw-drop}
spec: {selector: "role == 'gw'", doNotTrack: true, applyOnForward: true, ingress: [{action: Deny, protocol: UDP}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec: {selector: "role == 'gw'", applyOnForward: true, ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: allow-all}
spec: {ingress: [{action: Allow}], egress: [{action: Allow}]}
`;

function built(node = 'gw') {
  const { resources, errors } = parseManifest(YAML, 'test.yaml');
  expect(errors).toEqual([]);
  return buildRuleset({ node, loopback: 'exempt' }, resources, [{ name: 'eth1', addresses: ['198.18.1.1/24'] }, { name: 'eth2', addresses: [] }]);
}

const quietLog = () => {
  const lines: string[] = [];
  const log = { warn: (o: object, m: string) => void lines.push(`warn ${m} ${JSON.stringify(o)}`), info: (_o: object, m: string) => void lines.push(`info ${m}`) };
  return { lines, log: log as unknown as Pick<Logger, 'warn' | 'info'> };
};

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await Bun.sleep(10);
  }
  throw new Error(`never: ${what}`);
}

describe('endpoints in the status file', () => {
  test('each HEP with its interfaces and its stages in the order a packet meets them, with chain names', () => {
    const { plan, dispatch } = built();
    const eps = endpointStatuses(plan, dispatch);
    expect(eps.map((e) => [e.name, e.interfaces])).toEqual([
      ['gw-any', ['*']],
      ['gw-eth1', ['eth1']],
    ]);
    const eth1 = eps.find((e) => e.name === 'gw-eth1')!;
    expect(eth1.stages.map((s) => `${s.stage}:${s.chain}`)).toEqual(['rfh:rfh-gw-eth1', 'fh:fh-gw-eth1', 'fhfw:fhfw-gw-eth1', 'th:th-gw-eth1']);
    const fh = eth1.stages.find((s) => s.stage === 'fh')!;
    expect(fh.tiers.map((t) => [t.tier, t.policies.map((p) => `${p.key}@${p.chain}`)])).toEqual([
      ['security', ['security/security.block@pi-security.block']],
      ['default', ['default/web@pi-web']],
    ]);
    // A profile that does not exist has no chain: it drops.
    expect(fh.profiles).toEqual([{ name: 'allow-all', chain: 'pri-allow-all' }, { name: 'gone' }]);
    expect(eth1.stages.find((s) => s.stage === 'th')!.tiers[0]!.policies[0]!.chain).toBe('po-security.block');
  });
});

describe('the status file', () => {
  test('follows the agent\'s events and is always a valid file', async () => {
    const dir = tmp();
    const { log } = quietLog();
    const f = new StatusFile({ dir, node: 'gw', source: 'relay', log, delayMs: 1 });
    const read = () => {
      try {
        return parseLocalStatus(readFileSync(join(dir, 'status.json'), 'utf8'));
      } catch {
        return undefined;
      }
    };
    await until(() => read()?.ok === true, 'the first write');
    const first = read();
    expect(first?.ok && first.status.state).toBe('error');
    expect(first?.ok && first.status.reason).toContain('nothing applied');

    const o = fanOut([f]);
    const { plan, dispatch } = built();
    o.stateChanged({ state: 'cached', since: new Date() });
    o.snapshotReceived({ revision: '7', hash: 'sha256:aa', issuedAt: Date.UTC(2026, 0, 1), source: 'relay', at: new Date() });
    o.rendered({ plan, dispatch, at: new Date() });
    o.applied({ revision: '7', hash: 'sha256:aa', source: 'relay', why: 'relay', durationMs: 12.345, ok: true, at: new Date() });
    o.stateChanged({ state: 'in-sync', since: new Date() });
    o.refused({ reason: 'bad-signature', message: 'signed by another key', at: new Date() });
    o.refused({ reason: 'bad-signature', message: 'again', at: new Date() });
    o.refused({ reason: 'Not A Reason!', message: 'odd', at: new Date() });
    o.heldBackChanged({ heldBack: { count: 1, items: [{ kind: 'GlobalNetworkPolicy', name: 'x', source: 'etcd', reason: 'bad', lastValidInForce: true }], since: new Date().toISOString() }, at: new Date() });
    await until(() => {
      const r = read();
      return r?.ok === true && r.status.heldBack !== undefined;
    }, 'the events written');
    const r = read();
    if (!r?.ok) throw new Error('unreadable');
    expect(r.status).toMatchObject({ node: 'gw', source: 'relay', state: 'in-sync', revision: '7', hash: 'sha256:aa', issuedAt: '2026-01-01T00:00:00.000Z', refused: { 'bad-signature': 2, other: 1 }, endpointCount: 2, matchesNothing: false, pid: process.pid });
    expect(r.status.reason).toBeUndefined();
    expect(r.status.lastGoodApply).toMatchObject({ durationMs: 12.3, ok: true, why: 'relay' });
    expect(r.status.endpoints.map((e) => e.name)).toEqual(['gw-any', 'gw-eth1']);

    // A failed apply: the last try is recorded, what is in force (revision, endpoints) is not replaced.
    const other = built('nobody');
    o.rendered({ plan: other.plan, dispatch: other.dispatch, at: new Date() });
    o.applied({ revision: '8', hash: 'sha256:bb', source: 'relay', why: 'relay', durationMs: 3, ok: false, error: 'nft: exit 1', at: new Date() });
    o.stateChanged({ state: 'error', reason: 'nft: exit 1', since: new Date() });
    await f.stopping();
    const after = read();
    if (!after?.ok) throw new Error('unreadable');
    expect(after.status).toMatchObject({ state: 'error', reason: 'nft: exit 1', revision: '7', lastApply: { ok: false, error: 'nft: exit 1' }, lastGoodApply: { ok: true } });
    expect(after.status.endpoints).toHaveLength(2);

    // Then it applies: the node matches nothing now.
    const f2 = new StatusFile({ dir, node: 'nobody', source: 'local', log, delayMs: 1 });
    const o2 = fanOut([f2]);
    o2.rendered({ plan: other.plan, dispatch: other.dispatch, at: new Date() });
    o2.applied({ source: 'local', why: 'files', durationMs: 3, ok: true, at: new Date() });
    await f2.stopping();
    const none = read();
    expect(none?.ok && none.status).toMatchObject({ node: 'nobody', matchesNothing: true, endpointCount: 0, endpoints: [] });
  });

  test('a held-back resource whose name is far over 253 characters (why a local-mode agent holds it back) still leaves a file status can read', async () => {
    const dir = tmp();
    const { log } = quietLog();
    const f = new StatusFile({ dir, node: 'gw', source: 'local', log, delayMs: 1 });
    const long = 'n'.repeat(1500);
    f.heldBackChanged({ heldBack: { count: 1, items: [{ kind: 'K'.repeat(200), name: long, source: `/etc/outpost/${long}.yaml`, reason: long, lastValidInForce: false }], since: new Date().toISOString() }, at: new Date() });
    await f.stopping();
    const r = parseLocalStatus(readFileSync(join(dir, 'status.json'), 'utf8'));
    expect(r.ok ? '' : r.message).toBe('');
    expect(r.ok && r.status.heldBack?.items[0]?.name.startsWith('nnn')).toBe(true);
  });

  test('a state dir it cannot write: logged once, retried, written once it can; never throws', async () => {
    const dir = tmp();
    chmodSync(dir, 0o500);
    const { lines, log } = quietLog();
    // root ignores directory permissions: a path under a regular file fails for everyone.
    const blocked = join(dir, 'not-a-dir');
    writeFileSync(join(dir, 'x'), '');
    chmodSync(dir, 0o755);
    writeFileSync(blocked, 'a file where the state dir should be');
    const f = new StatusFile({ dir: blocked, node: 'gw', source: 'local', log, delayMs: 1, backoff: { initialMs: 5, maxMs: 20 } });
    const o = fanOut([f]);
    await until(() => lines.some((l) => l.includes('cannot write the status file')), 'the failure logged');
    for (let i = 0; i < 5; i++) o.stateChanged({ state: 'in-sync', since: new Date() });
    await Bun.sleep(100);
    expect(lines.filter((l) => l.includes('cannot write the status file'))).toHaveLength(1);
    rmSync(blocked);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(blocked);
    await until(() => lines.some((l) => l.includes('status file written again')), 'the retry');
    expect(parseLocalStatus(readFileSync(join(blocked, 'status.json'), 'utf8')).ok).toBe(true);
    await f.stopping();
  });

  test('a throwing observer does not stop the others', () => {
    const { lines, log } = quietLog();
    const seen: string[] = [];
    const o = fanOut([{ stateChanged: () => { throw new Error('boom'); } }, { stateChanged: (e) => void seen.push(e.state) }], log as never);
    o.stateChanged({ state: 'stale', since: new Date() });
    expect(seen).toEqual(['stale']);
    expect(lines.join()).toContain('boom');
  });

  test('a full disk: writeAtomic fails and leaves no half-written temporary file taking the last free space (the state store needs it)', async () => {
    const dir = tmp();
    // A real full filesystem: a tmpfs of one page (root only, like the agent).
    const mounted = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', dir]).exitCode === 0;
    if (!mounted) return void console.warn('skipped: cannot mount a tmpfs (not root?)');
    try {
      writeFileSync(join(dir, 'status.json'), 'old\n');
      await expect(writeAtomic(join(dir, 'status.json'), 'x'.repeat(64 * 1024))).rejects.toThrow();
      expect(readdirSync(dir)).toEqual(['status.json']);
      expect(readFileSync(join(dir, 'status.json'), 'utf8')).toBe('old\n');
    } finally {
      Bun.spawnSync(['umount', dir]);
    }
  });

  test('writeAtomic leaves no temporary file and replaces the whole content', async () => {
    const dir = tmp();
    const p = join(dir, 'f.json');
    await writeAtomic(p, 'x'.repeat(10_000));
    await writeAtomic(p, 'short');
    expect(readFileSync(p, 'utf8')).toBe('short');
    expect((await import('node:fs')).readdirSync(dir)).toEqual(['f.json']);
  });
});

describe('parseLocalStatus', () => {
  const good = (): LocalStatus => ({
    format: 1, node: 'gw', source: 'local', state: 'in-sync', since: '2026-01-01T00:00:00.000Z', endpoints: [], endpointCount: 0, matchesNothing: true,
    refused: {}, pid: 1, version: '0.1.0', startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
  });
  test('names the field that is wrong, refuses another format, ignores unknown fields', () => {
    expect(parseLocalStatus(JSON.stringify(good())).ok).toBe(true);
    expect(parseLocalStatus(JSON.stringify({ ...good(), extra: { from: 'a newer agent' } }))).toMatchObject({ ok: true });
    expect(parseLocalStatus(JSON.stringify({ ...good(), state: 'sideways' }))).toMatchObject({ ok: false, message: expect.stringContaining('state') });
    expect(parseLocalStatus(JSON.stringify({ ...good(), pid: -3 }))).toMatchObject({ ok: false, message: expect.stringContaining('pid') });
    expect(parseLocalStatus(JSON.stringify({ ...good(), format: 2 }))).toMatchObject({ ok: false, message: expect.stringContaining('format 2') });
    expect(parseLocalStatus('{"format": 1, "node"')).toMatchObject({ ok: false, message: expect.stringContaining('not JSON') });
    expect(parseLocalStatus('null').ok).toBe(false);
    expect(parseLocalStatus(JSON.stringify({ ...good(), endpoints: Array.from({ length: 1000 }, () => ({ name: 'x', interfaces: [], stages: [] })) })).ok).toBe(false);
  });
});

describe('the report', () => {
  const status = (over: Partial<LocalStatus> = {}): LocalStatus => {
    const { plan, dispatch } = built();
    return {
      format: 1, node: 'gw', source: 'relay', state: 'in-sync', since: '2026-01-01T00:00:00.000Z', revision: '9', hash: 'sha256:cc',
      lastGoodApply: { at: '2026-01-01T00:00:00.000Z', durationMs: 5, ok: true, why: 'relay' },
      endpoints: endpointStatuses(plan, dispatch), endpointCount: 2, matchesNothing: false, refused: {}, pid: 1, version: '0.1.0',
      startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', ...over,
    };
  };
  const running = { running: true, lockHolder: 1, how: 'lock held' };
  const listing = JSON.parse(readFileSync(join(import.meta.dir, 'fixtures/nft-listing.json'), 'utf8'));

  test('in sync, running, table present: exit 0, with counters per policy', () => {
    const r = buildReport({ file: '/s/status.json', status: status(), agent: running, table: { state: 'present', listing } });
    expect(r.exitCode).toBe(0);
    expect(r.problems).toEqual([]);
    const fh = r.endpoints.find((e) => e.name === 'gw-eth1')!.stages.find((s) => s.stage === 'fh')!;
    const web = fh.tiers[1]!.policies[0]!;
    expect(web).toMatchObject({ key: 'default/web', evaluated: { packets: 3, bytes: 180 }, allowed: { packets: 2, bytes: 120 } });
    expect(web.rules.map((x) => x.packets)).toEqual([2, 1, 0]);
    expect(fh.tiers[1]!.endOfTierDrop).toEqual({ packets: 1, bytes: 60 });
    expect(formatReport(r, Date.parse('2026-01-01T00:05:00Z'))).toContain('default/web');
    // What -o json prints fits its published schema (protocol/status-report.ts).
    expect(v.safeParse(StatusReportSchema, JSON.parse(JSON.stringify(r))).success).toBe(true);
    const missing = buildReport({ file: 'f', status: status(), agent: { running: false, how: 'x' }, table: { state: 'missing' } });
    expect(v.safeParse(StatusReportSchema, JSON.parse(JSON.stringify(missing))).success).toBe(true);
  });

  test('the table missing while the file says in-sync: state error, loudly', () => {
    const r = buildReport({ file: '/s/status.json', status: status(), agent: running, table: { state: 'missing' } });
    expect(r).toMatchObject({ state: 'error', reason: TABLE_MISSING, exitCode: 1, table: 'missing' });
    expect(r.endpoints[0]!.stages[0]!.tiers[0]!.policies[0]!.evaluated).toBeNull();
    const text = formatReport(r);
    expect(text).toContain('ERROR');
    expect(text).toContain('MISSING');
  });

  test('nothing applied yet and no table: not called a missing table', () => {
    const { lastGoodApply: _x, ...never } = status({ state: 'error', reason: 'no snapshot yet' });
    const r = buildReport({ file: '/s/status.json', status: never, agent: running, table: { state: 'missing' } });
    expect(r).toMatchObject({ state: 'error', reason: 'no snapshot yet', exitCode: 1 });
    expect(formatReport(r)).toContain('never by this agent');
  });

  test('hostile text (a held-back name or reason from the datastore, an nft error, a refused message) cannot rewrite the terminal', () => {
    const evil = '\u001b[2J\u001b]0;pwned\u0007\u009b31m\r\u202e\u2066';
    const r = buildReport({
      file: 'f',
      status: status({
        state: 'error', reason: `bad ${evil}`,
        lastApply: { at: '2026-01-01T00:00:00.000Z', durationMs: 1, ok: false, why: 'relay', error: `nft ${evil}` },
        refused: { 'bad-signature': 1 }, lastRefusal: { reason: 'bad-signature', message: `msg ${evil}`, at: '2026-01-01T00:00:00.000Z' },
        heldBack: { count: 1, items: [{ kind: `K${evil}`, name: `n${evil}`, source: `/calico/${evil}`, reason: `r${evil}`, lastValidInForce: false }], since: '2026-01-01T00:00:00.000Z' },
      }),
      agent: running,
      table: { state: 'unknown', reason: `nft ${evil}` },
    });
    const text = formatReport(r, Date.parse('2026-01-01T00:05:00Z'));
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
    expect(text).toContain('pwned');
  });

  test('the agent not running, cached, or counters unreadable', () => {
    expect(buildReport({ file: 'f', status: status(), agent: { running: false, how: 'no lock' }, table: { state: 'present', listing } })).toMatchObject({ exitCode: 1, problems: [expect.stringContaining('not running')] });
    expect(buildReport({ file: 'f', status: status({ state: 'cached' }), agent: running, table: { state: 'present', listing } }).exitCode).toBe(1);
    const u = buildReport({ file: 'f', status: status(), agent: running, table: { state: 'unknown', reason: 'nft: permission denied' } });
    expect(u).toMatchObject({ exitCode: 0, table: 'unknown', warnings: [expect.stringContaining('permission denied')] });
  });
});

describe('the retained MQTT status', () => {
  const since = new Date('2026-01-01T00:00:00.000Z');
  test('carries the new facts optionally; an old status still parses and a new one parses with only the old fields', () => {
    const payload = encodeStatus({ node: 'gw', state: 'in-sync', revision: '3', hash: 'sha256:dd', since, source: 'relay', appliedAt: since, applyMs: 12.345, endpoints: [{ name: 'gw-eth1', interfaces: ['eth1'] }], heldBack: 2, matchesNothing: false, staged: [{ policy: 'p', wouldAllow: 1, wouldDeny: 2 }] });
    const r = decodeStatus(payload);
    expect(r.ok && r.status).toMatchObject({ source: 'relay', appliedAt: since.toISOString(), applyMs: 12, endpoints: [{ name: 'gw-eth1', interfaces: ['eth1'] }], heldBack: 2, staged: [{ policy: 'p', wouldAllow: 1, wouldDeny: 2 }] });
    expect(r.ok && 'matchesNothing' in r.status).toBe(false);
    expect(decodeStatus(new TextEncoder().encode('{"node":"gw","state":"cached","refused":{},"since":"2026-01-01T00:00:00.000Z"}')).ok).toBe(true);
    // What an older reader (the schema without the new fields) makes of a new status: the old facts.
    const oldSchema = v.object({ node: AgentStatusSchema.entries.node, state: AgentStatusSchema.entries.state, revision: AgentStatusSchema.entries.revision });
    expect(v.parse(oldSchema, JSON.parse(new TextDecoder().decode(payload)))).toEqual({ node: 'gw', state: 'in-sync', revision: '3' });
  });

  test('endpoints are capped and the count kept', () => {
    const endpoints = Array.from({ length: 100 }, (_, i) => ({ name: `h${i}`, interfaces: Array.from({ length: 50 }, (_, j) => `e${j}`) }));
    const r = decodeStatus(encodeStatus({ node: 'gw', state: 'in-sync', since, endpoints }));
    expect(r.ok && r.status.endpoints).toHaveLength(MAX_STATUS_ENDPOINTS);
    expect(r.ok && r.status.endpointCount).toBe(100);
    expect(r.ok && r.status.endpoints?.[0]?.interfaces).toHaveLength(32);
  });

  test('the offline status keeps revision and hash', () => {
    const r = decodeStatus(lastWillPayload('gw', since, { revision: '5', hash: 'sha256:ee', source: 'relay' }));
    expect(r.ok && r.status).toMatchObject({ state: 'offline', revision: '5', hash: 'sha256:ee', source: 'relay', since: since.toISOString() });
  });
});

describe('staged summary for the retained status', () => {
  test('per policy, both directions added, sorted, capped', () => {
    const pb = (packets: number) => ({ packets, bytes: packets * 60 });
    const c = (policy: string, direction: 'ingress' | 'egress', allow: number, deny: number) => ({ policy, direction, wouldAllow: pb(allow), wouldDeny: pb(deny), wouldPass: pb(0), wouldLog: pb(0), noMatch: pb(1) });
    expect(summariseStaged([c('b', 'ingress', 1, 2), c('a', 'egress', 0, 5), c('b', 'egress', 3, 4)])).toEqual([
      { policy: 'a', wouldAllow: 0, wouldDeny: 5 },
      { policy: 'b', wouldAllow: 4, wouldDeny: 6 },
    ]);
    expect(summariseStaged(Array.from({ length: 80 }, (_, i) => c(`p${String(i).padStart(2, '0')}`, 'ingress', 1, 1)))).toHaveLength(50);
  });
});

describe('status arguments', () => {
  test('--watch takes an optional interval', () => {
    expect(parseStatusArgs(['--watch']).watchMs).toBe(2000);
    expect(parseStatusArgs(['--watch', '5s']).watchMs).toBe(5000);
    expect(parseStatusArgs(['--watch', '3']).watchMs).toBe(3000);
    expect(parseStatusArgs(['--watch=1m', '-o', 'json'])).toMatchObject({ watchMs: 60_000, json: true });
    expect(parseStatusArgs(['--watch', '-o', 'json'])).toMatchObject({ watchMs: 2000, json: true });
    expect(parseStatusArgs(['--state', '/x', '--nft', '/bin/nft'])).toMatchObject({ state: '/x', nft: '/bin/nft' });
  });
  test('mistakes are usage errors that say what is wrong', () => {
    expect(() => parseStatusArgs(['--watch', '5x'])).toThrow(/not a duration/);
    expect(() => parseStatusArgs(['--watch', '10ms'])).toThrow(/too short/);
    expect(() => parseStatusArgs(['-o', 'yaml'])).toThrow(/-o must be json/);
    expect(() => parseStatusArgs(['--state'])).toThrow(/--state needs a value/);
    expect(() => parseStatusArgs(['extra'])).toThrow(/no arguments/);
    expect(() => parseStatusArgs(['--stat', 'x'])).toThrow(/Unknown option '--stat'/);
  });
});
