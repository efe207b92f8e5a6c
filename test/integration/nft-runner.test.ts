/**
 * NftRunner against the real nft: it still works when the agent's working directory has gone
 * (deleted, or hidden by a service manager's private /tmp). Check mode only (`nft -c`): the
 * machine's ruleset is never changed.
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { isRoot } from './harness.ts';

const RUNNER = join(import.meta.dir, '../../src/nft/runner.ts');

// A child process, so that losing the working directory does not touch the test runner's own.
const SCRIPT = `
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const { NftRunner } = await import(${JSON.stringify(RUNNER)});
const gone = mkdtempSync(join(tmpdir(), 'outpost-cwd-'));
const state = mkdtempSync(join(tmpdir(), 'outpost-state-'));
process.chdir(gone);
rmSync(gone, { recursive: true });
const r = await new NftRunner(state).apply({ nftables: [{ add: { table: { family: 'inet', name: 'outpost-cwd-check' } } }] }, true);
rmSync(state, { recursive: true });
console.log(JSON.stringify(r.ok ? { ok: true } : { ok: false, error: r.error.message }));
`;

describe.skipIf(!isRoot)('nft runner', () => {
  test('applies (check mode) from a working directory that no longer exists', () => {
    const r = Bun.spawnSync([process.execPath, '-e', SCRIPT], { stderr: 'pipe' });
    expect(r.stderr.toString()).toBe('');
    expect(JSON.parse(r.stdout.toString())).toEqual({ ok: true });
  });
});
