/**
 * Shared by the install tests: the packaged artifacts (a clear failure naming the command that
 * builds a missing one), commands with their output kept for failure messages, a small lab (an
 * appliance and a client), the policy it enforces, and a machine-wide lock for tests that change
 * the machine itself (dpkg).
 */
import { existsSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostTarget } from '../../scripts/build/targets.ts';
import { BUILD_HINT } from '../../scripts/package/layout.ts';
import { Lab } from '../lab/lab.ts';
import { gnp, hep } from '../integration/fixtures.ts';

export const isRoot = process.getuid?.() === 0;
/** The glibc target this machine runs: its tarball and .deb are the ones installed here. */
export const NATIVE = hostTarget();
export const NATIVE_DEB = NATIVE.arch === 'arm64' ? 'arm64' : 'amd64';
export const FOREIGN_DEB = NATIVE_DEB === 'amd64' ? 'arm64' : 'amd64';

/** Fails (never skips) when an artifact is missing, naming the command that makes it. */
export function requireArtifact(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`${BUILD_HINT}\` first (the test command does)`);
  return path;
}

export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv to completion; never throws on a non-zero exit (see `ok`). */
export async function run(argv: readonly string[], opts: { env?: Record<string, string>; cwd?: string; input?: string } = {}): Promise<RunResult> {
  const p = Bun.spawn([...argv], {
    stdin: opts.input === undefined ? 'ignore' : new TextEncoder().encode(opts.input),
    stdout: 'pipe',
    stderr: 'pipe',
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  const [exitCode, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { exitCode, stdout, stderr };
}

/** A command's exit status and output, for an assertion's failure message. */
export const output = (r: RunResult): string => `exit ${r.exitCode}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

/** Runs argv and throws with its whole output unless it exits 0. */
export async function ok(argv: readonly string[], opts: Parameters<typeof run>[1] = {}): Promise<RunResult> {
  const r = await run(argv, opts);
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${r.exitCode}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  return r;
}

/** Every path under `dir` (relative, sorted), with its type: the before/after picture of a root. */
export async function fileTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(dir, rel))) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(dir, path));
      out.push(`${path}${st.isDirectory() ? '/' : st.isSymbolicLink() ? '@' : ''}`);
      if (st.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return out.sort();
}

/** Polls `check` until it returns a value, or throws `what` (with `detail()`) after `timeoutMs`. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, detail: () => Promise<string>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`${what} within ${timeoutMs} ms\n${await detail()}`);
    await Bun.sleep(100);
  }
}

// --- The lab: an appliance (app) with one interface, and a client ------------------------------

export const APP_ADDR = '198.18.1.1';
export const ALLOWED_PORT = 80;
export const DENIED_PORT = 443;

/** What every install test enforces: the app's eth0 admits TCP 80 and nothing else but failsafes. */
export const RESOURCES = {
  'heps.yaml': hep('app-eth0', { node: 'app', iface: 'eth0', labels: { role: 'app' } }),
  'policy.yaml': gnp('web', `selector: role == 'app'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${ALLOWED_PORT}]}}]`),
};

/** agent.yaml for local mode, as an admin would write it over the shipped default. */
export const localModeConfig = (resources: string, extra = ''): string => `node: app\nresources:\n  - ${resources}\n${extra}`;

export interface ApplianceLab {
  lab: Lab;
  /** The appliance's namespace name, for `ip netns exec`. */
  ns: string;
  /** Whether client -> app:port connects (TCP, real packets). */
  reaches(port: number): Promise<boolean>;
  /** Whether the table inet outpost exists in the appliance's namespace. */
  hasTable(): Promise<boolean>;
}

export async function applianceLab(): Promise<ApplianceLab> {
  const lab = await Lab.create();
  try {
    await Promise.all([lab.addHost('app'), lab.addHost('client')]);
    await lab.link('app', 'eth0', [`${APP_ADDR}/24`], 'client', 'eth0', ['198.18.1.2/24']);
    await lab.startResponder('app', { tcp: [ALLOWED_PORT, DENIED_PORT] });
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return {
    lab,
    ns: lab.ns('app'),
    reaches: (port) => lab.tcp('client', APP_ADDR, port),
    hasTable: async () => (await lab.exec('app', ['nft', 'list', 'table', 'inet', 'outpost'], { reject: false })).exitCode === 0,
  };
}

// --- A lock for tests that change the machine (dpkg) --------------------------------------------

/**
 * Holds an exclusive flock(1) on a file in /run until release() (or until this process dies: the
 * holder is a `cat` on our pipe, which ends with us). Two test runs on one machine would
 * otherwise install and purge the same package under each other.
 */
export async function machineLock(name: string, timeoutSeconds = 600): Promise<{ release(): void }> {
  const holder = Bun.spawn(['flock', '-x', '-w', String(timeoutSeconds), `/run/${name}.lock`, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const reader = holder.stdout.getReader();
  const first = await reader.read();
  if (first.done || !new TextDecoder().decode(first.value).startsWith('locked')) {
    throw new Error(`could not lock /run/${name}.lock within ${timeoutSeconds} s (another test run holds it): ${await new Response(holder.stderr).text()}`);
  }
  reader.releaseLock();
  return {
    release: () => {
      void holder.stdin.end();
    },
  };
}
