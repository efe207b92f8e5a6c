/**
 * writeFileAtomic (platform/signing.ts), the one atomic file write: keys, bundles and the agent's
 * status file all go through it.
 */
import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../src/platform/signing.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'outpost-atomic-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a full disk: the write fails, the old file stays whole and no temporary file keeps the last free space', async () => {
  const dir = tmp();
  // A real full filesystem: a tmpfs of one page (root only, like the agent).
  const mounted = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', dir]).exitCode === 0;
  if (!mounted) return void console.warn('skipped: cannot mount a tmpfs (not root?)');
  try {
    writeFileSync(join(dir, 'f.json'), 'old\n');
    await expect(writeFileAtomic(join(dir, 'f.json'), 'x'.repeat(64 * 1024), { mode: 0o600, overwrite: true })).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['f.json']);
    expect(readFileSync(join(dir, 'f.json'), 'utf8')).toBe('old\n');
  } finally {
    Bun.spawnSync(['umount', dir]);
  }
});

test('replaces the whole content with exactly the mode asked for, leaving no temporary file', async () => {
  const dir = tmp();
  const p = join(dir, 'f.json');
  await writeFileAtomic(p, 'x'.repeat(10_000), { mode: 0o644, overwrite: true });
  await writeFileAtomic(p, 'short', { mode: 0o644, overwrite: true });
  expect(readFileSync(p, 'utf8')).toBe('short');
  expect(statSync(p).mode & 0o777).toBe(0o644);
  expect(readdirSync(dir)).toEqual(['f.json']);
});
