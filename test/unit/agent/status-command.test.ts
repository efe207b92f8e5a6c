/**
 * `outpost status` on status files it cannot use: exit 2 with a sentence naming the problem
 * (and the field), never a stack trace. These fail before nft is asked anything.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statusCommand } from '../../../src/cli/status-command.ts';
import type { LocalStatus } from '../../../src/protocol/local-status.ts';

const dir = mkdtempSync(join(tmpdir(), 'outpost-status-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await statusCommand(args, { out: (t) => void out.push(t), err: (t) => void err.push(t), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('status on an unusable status file', () => {
  const cases: [string, string | ((p: string) => void), RegExp][] = [
    ['not JSON', '{"format": 1, "node":', /not JSON/],
    ['a wrong field', JSON.stringify({ format: 1, node: 'gw', source: 'satellite' }), /source/],
    ['another format', JSON.stringify({ format: 7 }), /format 7/],
    ['binary junk', '\u0000\u0001\u00ff', /not JSON/],
    ['huge', (p) => truncateSync(p, 64 * 1024 * 1024), /far more than an agent writes/],
  ];
  for (const [what, content, message] of cases) {
    test(`${what}: exit 2, says why`, async () => {
      const state = mkdtempSync(join(dir, 's-'));
      const file = join(state, 'status.json');
      writeFileSync(file, typeof content === 'string' ? content : '');
      if (typeof content === 'function') content(file);
      const r = await run(['--state', state]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      const j = await run(['--state', state, '-o', 'json']);
      expect(j.code).toBe(2);
      expect(JSON.parse(j.out)).toMatchObject({ exitCode: 2, error: expect.stringMatching(message) });
    });
  }

  test('a state dir that does not exist: exit 2, names it', async () => {
    const r = await run(['--state', join(dir, 'nowhere')]);
    expect(r).toMatchObject({ code: 2, err: expect.stringContaining('no status file') });
  });
});

describe('a state dir the agent cannot write', () => {
  const mount = (target: string, opts: string) => Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', opts, 'tmpfs', target]).exitCode === 0;

  test('read-only or full: named, so a status file the agent can no longer update is not read as the current state', async () => {
    const { stateDirProblem } = await import('../../../src/cli/status-command.ts');
    const ok = mkdtempSync(join(tmpdir(), 'outpost-sd-'));
    const ro = mkdtempSync(join(tmpdir(), 'outpost-sd-'));
    const full = mkdtempSync(join(tmpdir(), 'outpost-sd-'));
    try {
      expect(await stateDirProblem(ok)).toBeUndefined();
      if (!mount(ro, 'ro,size=64k') || !mount(full, 'size=8k')) return void console.warn('skipped: cannot mount a tmpfs (not root?)');
      expect(await stateDirProblem(ro)).toContain('read-only');
      writeFileSync(join(full, 'fill'), Buffer.alloc(4096));
      try {
        writeFileSync(join(full, 'fill2'), Buffer.alloc(64 * 1024));
      } catch {
        // Full now: exactly what the test wants.
      }
      expect(await stateDirProblem(full)).toContain('no free space');
    } finally {
      Bun.spawnSync(['umount', ro]);
      Bun.spawnSync(['umount', full]);
      for (const d of [ok, ro, full]) rmSync(d, { recursive: true, force: true });
    }
  });

  test('the report: not in sync while the file may be out of date', async () => {
    const { buildReport } = await import('../../../src/agent/status-report.ts');
    const status: LocalStatus = { format: 1, node: 'gw', source: 'relay', state: 'in-sync', since: '2026-01-01T00:00:00.000Z', revision: '9', hash: 'sha256:cc', lastGoodApply: { at: '2026-01-01T00:00:00.000Z', durationMs: 5, ok: true, why: 'relay' }, endpoints: [], endpointCount: 0, matchesNothing: false, refused: {}, pid: 1, version: '0.1.0', startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
    const base = { file: '/s/status.json', status, agent: { running: true, lockHolder: 1, how: 'lock' }, table: { state: 'present' as const, listing: { nftables: [] } } };
    expect(buildReport(base).exitCode).toBe(0);
    const r = buildReport({ ...base, stateDirProblem: '/s is on a read-only filesystem' });
    expect(r.exitCode).toBe(1);
    expect(r.problems.join('\n')).toContain('read-only');
  });
});

test('an nft that cannot be run (a typo in --nft, nft not in PATH) is not reported as the table missing', async () => {
  const d = mkdtempSync(join(tmpdir(), 'outpost-status-nft-'));
  try {
    const status: LocalStatus = { format: 1, node: 'gw', source: 'local', state: 'in-sync', since: '2026-01-01T00:00:00.000Z', lastGoodApply: { at: '2026-01-01T00:00:00.000Z', durationMs: 5, ok: true, why: 'files' }, endpoints: [], endpointCount: 0, matchesNothing: true, refused: {}, pid: 1, version: '0.1.0', startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
    writeFileSync(join(d, 'status.json'), JSON.stringify(status));
    const r = await run(['--state', d, '--nft', join(d, 'no-such-nft'), '-o', 'json']);
    const report = JSON.parse(r.out) as { table: string; state: string; tableProblem?: string };
    expect(report.table).toBe('unknown');
    expect(report.state).toBe('in-sync');
    expect(report.tableProblem).toContain('no-such-nft');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
