/**
 * A real etcd (Debian's etcd-server, /usr/bin/etcd) for integration tests: loopback only, on
 * free ports, with its own temp data dir. `stop()`/`restart()` keep the data (an etcd restart,
 * not a new cluster); `destroy()` removes everything and is what afterAll must call. Anything
 * still running when the test process exits is killed and its dir removed.
 */
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdctlResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface LabEtcd {
  readonly url: string;
  readonly dataDir: string;
  /** Stops the process (SIGTERM, then SIGKILL); the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data dir; resolves once healthy. */
  restart(): Promise<void>;
  /** Compacts history up to `revision` (physical, so it is really gone). */
  compact(revision: string | number): Promise<void>;
  /** Runs etcdctl (API v3) against this etcd; throws on a non-zero exit unless `allowFail`. */
  etcdctl(args: readonly string[], options?: { allowFail?: boolean; input?: string }): Promise<EtcdctlResult>;
  /** The store's current revision. */
  revision(): Promise<string>;
  /** Stops it and removes the data dir. Safe to call twice. */
  destroy(): Promise<void>;
}

function spawnEtcd(args: readonly string[]) {
  return execa('/usr/bin/etcd', args, { reject: false, buffer: false, stdin: 'ignore', all: true });
}
type EtcdProcess = ReturnType<typeof spawnEtcd>;

const live = new Set<{ proc: EtcdProcess | undefined; dir: string }>();
process.on('exit', () => {
  for (const l of live) {
    try {
      l.proc?.kill('SIGKILL');
    } catch {
      // already gone
    }
    rmSync(l.dir, { recursive: true, force: true });
  }
});

/** A port the kernel just gave out on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, proc: EtcdProcess, log: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.then(() => (exited = true), () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`etcd exited during start:\n${log()}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
    } catch {
      // not up yet
    }
    await Bun.sleep(50);
  }
  throw new Error(`etcd at ${url} not healthy after ${timeoutMs} ms:\n${log()}`);
}

export async function startEtcd(): Promise<LabEtcd> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-etcd-'));
  const dataDir = join(dir, 'data');
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const entry: { proc: EtcdProcess | undefined; dir: string } = { proc: undefined, dir };
  live.add(entry);
  let output = '';

  const launch = async () => {
    output = '';
    const proc = spawnEtcd([
      '--name', 'lab', '--data-dir', dataDir,
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `lab=${peer}`, '--log-level', 'warn', '--logger', 'zap',
    ]);
    proc.all?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    entry.proc = proc;
    await waitHealthy(url, proc, () => output);
  };

  const stop = async () => {
    const proc = entry.proc;
    if (!proc) return;
    entry.proc = undefined;
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await proc;
    clearTimeout(killer);
  };

  const etcdctl = async (args: readonly string[], options: { allowFail?: boolean; input?: string } = {}) => {
    const r = await execa('/usr/bin/etcdctl', ['--endpoints', url, ...args], {
      env: { ETCDCTL_API: '3' },
      reject: false,
      ...(options.input === undefined ? {} : { input: options.input }),
    });
    const result = { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
    if (result.exitCode !== 0 && !options.allowFail) {
      throw new Error(`etcdctl ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`);
    }
    return result;
  };

  try {
    await launch();
  } catch (e) {
    await stop().catch(() => undefined);
    live.delete(entry);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  return {
    url,
    dataDir,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    compact: async (revision) => {
      await etcdctl(['compact', String(revision), '--physical']);
    },
    etcdctl,
    revision: async () => {
      const r = await etcdctl(['endpoint', 'status', '-w', 'json']);
      const status = JSON.parse(r.stdout) as { Status: { header: { revision: number | string } } }[];
      return String(status[0]?.Status.header.revision);
    },
    destroy: async () => {
      await stop();
      live.delete(entry);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
