/**
 * The compiled binary (dist/outpost-linux-x64) says what it is, and runs only what it was built
 * with: no .env, bunfig.toml, or BUN_* variables from the machine it runs on.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { builtBinary } from './artifacts.ts';

const bin = builtBinary('linux-x64');
let dir: string;

function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = Bun.spawnSync([bin, ...args], { cwd: opts.cwd ?? dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env }, stdin: 'ignore' });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-bin-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('outpost version', () => {
  test('prints version, commit, target and Bun version', () => {
    const r = run(['version', '-o', 'json']);
    expect(r.exitCode).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    const head = Bun.spawnSync(['git', 'rev-parse', '--short=12', 'HEAD'], { cwd: import.meta.dir }).stdout.toString().trim();
    expect(info).toMatchObject({ version: pkg.version, target: 'linux-x64', bun: Bun.version, compiled: true });
    // A stale dist/ (built before the last commit) fails here: rebuild with `bun scripts/build.ts`.
    expect(String(info['commit'])).toStartWith(head);
    const text = run(['version']).stdout;
    expect(text).toContain(`outpost ${pkg.version}`);
    expect(text).toMatch(/^target\s+linux-x64$/m);
    expect(run(['--version']).stdout).toBe(text);
  });
});

describe('the machine cannot change what the binary runs', () => {
  test('.env and bunfig.toml in the working directory are not read', async () => {
    const marker = join(dir, 'preloaded');
    await writeFile(join(dir, 'pre.js'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'bunfig preload ran')`);
    await writeFile(join(dir, 'bunfig.toml'), 'preload = ["./pre.js"]\n');
    // If .env were read, `get` would find a datastore and fail to reach it instead of asking for one.
    await writeFile(join(dir, '.env'), 'OUTPOST_ETCD_ENDPOINTS=http://127.0.0.1:9\n');
    const r = run(['get', 'globalnetworkpolicy']);
    expect(r.stderr).toContain('no etcd endpoints');
    expect(await Bun.file(marker).exists()).toBe(false);
    // The same variable from the real environment is used: the check above can tell the difference.
    expect(run(['get', 'globalnetworkpolicy'], { env: { OUTPOST_ETCD_ENDPOINTS: 'http://127.0.0.1:9' } }).stderr).toContain('unreachable');
  });

  test('BUN_* variables are gone from the running process (it re-execs itself, same PID, without them)', async () => {
    const keys = join(dir, 'relay');
    expect(run(['keygen', '--out', keys]).exitCode).toBe(0);
    const folder = join(dir, 'resources');
    await Bun.write(join(folder, '.keep'), '');
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const relay = Bun.spawn([bin, 'relay', '--resources', folder, '--listen', `127.0.0.1:${port}`, '--insecure', '--signing-key', `${keys}.key`], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BUN_OPTIONS: '--smol', BUN_CONFIG_VERBOSE_FETCH: '1', NODE_OPTIONS: '--no-warnings', KEEP_ME: 'yes' },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    try {
      let environ = '';
      let execArgvHint = '';
      for (let i = 0; i < 200; i++) {
        environ = await readFile(`/proc/${relay.pid}/environ`, 'utf8').catch(() => '');
        if (environ.includes('KEEP_ME') && !environ.includes('BUN_OPTIONS')) break;
        await Bun.sleep(25);
      }
      const names = environ.split('\0').map((kv) => kv.split('=')[0]);
      expect(names).toContain('KEEP_ME');
      expect(names.filter((n) => n !== undefined && (n.startsWith('BUN_') || n === 'NODE_OPTIONS'))).toEqual([]);
      execArgvHint = await readFile(`/proc/${relay.pid}/cmdline`, 'utf8');
      expect(execArgvHint.split('\0').slice(1, 3)).toEqual(['relay', '--resources']);
      expect(relay.exitCode).toBeNull();
    } finally {
      relay.kill('SIGTERM');
      await relay.exited;
    }
  });
});
