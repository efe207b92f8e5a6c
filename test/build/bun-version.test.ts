/** The Bun pin: one place (package.json packageManager), installed by setup.sh and enforced by the build. */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { bunVersionProblem, pinnedBunVersion } from '../../scripts/build/bun-version.ts';

const ROOT = join(import.meta.dir, '..', '..');

describe('pinned Bun version', () => {
  test('package.json pins an exact version, and this machine runs it (setup.sh installed it)', () => {
    expect(pinnedBunVersion(ROOT)).toMatch(/^\d+\.\d+\.\d+$/);
    expect(bunVersionProblem(ROOT)).toBeUndefined();
  });

  test('any other Bun is refused by name', () => {
    expect(bunVersionProblem(ROOT, '0.0.1')).toContain(`this is Bun 0.0.1, but outpost is built with Bun ${pinnedBunVersion(ROOT)}`);
  });

  test('setup.sh installs exactly the pinned version (it reads the same field)', async () => {
    const setup = readFileSync(join(ROOT, 'scripts', 'setup.sh'), 'utf8');
    const line = setup.split('\n').find((l) => l.startsWith('BUN_VERSION='));
    expect(line).toBeDefined();
    const r = await execa('bash', ['-c', `${line}\necho "$BUN_VERSION"`], { cwd: ROOT });
    expect(r.stdout.trim()).toBe(pinnedBunVersion(ROOT));
    expect(setup).toContain('npm install -g --silent "bun@$BUN_VERSION"');
  });

  test('scripts/build.ts refuses to build when the running Bun is not the pinned one', async () => {
    // A copy of the tree whose package.json pins another version: the build must stop before compiling.
    const dir = await mkdtemp(join(tmpdir(), 'outpost-pin-'));
    try {
      await cp(join(ROOT, 'scripts'), join(dir, 'scripts'), { recursive: true });
      await cp(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
      await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
      await writeFile(join(dir, 'package.json'), JSON.stringify({ ...pkg, packageManager: 'bun@0.0.1' }));
      const r = await execa(process.execPath, [join(dir, 'scripts', 'build.ts'), '--target', 'linux-x64'], { cwd: dir, reject: false });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('outpost is built with Bun 0.0.1');
      expect(existsSync(join(dir, 'dist'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
