/**
 * `outpost status` on status files it cannot use: exit 2 with a sentence naming the problem
 * (and the field), never a stack trace. These fail before nft is asked anything.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statusCommand } from '../../../src/cli/status-command.ts';

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
