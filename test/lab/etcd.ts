/**
 * A real etcd (Debian's etcd-server, /usr/bin/etcd) for integration tests: loopback only, on
 * free ports, with its own temp data dir. `stop()`/`restart()` keep the data (an etcd restart,
 * not a new cluster); `destroy()` removes everything and is what afterAll must call. Anything
 * still running when the test process exits is killed and its dir removed.
 */
import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
  /** With `tls`: the throwaway CA and a client certificate it signed (PEM files, keys 0600). */
  readonly pki?: LabPki;
}

export interface LabPki {
  readonly dir: string;
  readonly ca: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A second CA that signed nothing etcd trusts. */
  readonly otherCa: string;
  readonly otherClientCert: string;
  readonly otherClientKey: string;
}

export interface LabEtcdOptions {
  /** https with --client-cert-auth: only clients with a certificate from the lab CA get in. */
  readonly tls?: boolean;
  /** More etcd flags (e.g. --auth-token-ttl). */
  readonly extraArgs?: readonly string[];
}

async function openssl(args: readonly string[]): Promise<void> {
  await execa('openssl', args, { stdin: 'ignore' });
}

/** A CA, then certificates it signs: ECDSA P-256 (fast), keys written 0600. */
async function makePki(dir: string): Promise<LabPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = (n: string) => join(dir, n);
  const key = async (name: string) => {
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', p(name)]);
    await chmod(p(name), 0o600);
  };
  const ca = async (name: string) => {
    await key(`${name}.key`);
    await openssl(['req', '-x509', '-new', '-key', p(`${name}.key`), '-subj', `/CN=${name}`, '-days', '2', '-out', p(`${name}.crt`)]);
  };
  const leaf = async (name: string, caName: string, ext: string) => {
    await key(`${name}.key`);
    await openssl(['req', '-new', '-key', p(`${name}.key`), '-subj', `/CN=${name}`, '-out', p(`${name}.csr`)]);
    await writeFile(p(`${name}.ext`), ext);
    await openssl(['x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${caName}.crt`), '-CAkey', p(`${caName}.key`), '-CAcreateserial', '-days', '2', '-extfile', p(`${name}.ext`), '-out', p(`${name}.crt`)]);
  };
  await ca('ca');
  await ca('other-ca');
  await leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  await leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  await leaf('other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  return { dir, ca: p('ca.crt'), clientCert: p('client.crt'), clientKey: p('client.key'), otherCa: p('other-ca.crt'), otherClientCert: p('other-client.crt'), otherClientKey: p('other-client.key') };
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

async function waitHealthy(url: string, proc: EtcdProcess, log: () => string, timeoutMs = 15_000, tls?: { ca: string; cert: string; key: string }): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.then(() => (exited = true), () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`etcd exited during start:\n${log()}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000), ...(tls ? { tls } : {}) } as RequestInit);
      if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
    } catch {
      // not up yet
    }
    await Bun.sleep(50);
  }
  throw new Error(`etcd at ${url} not healthy after ${timeoutMs} ms:\n${log()}`);
}

export async function startEtcd(options: LabEtcdOptions = {}): Promise<LabEtcd> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-etcd-'));
  const dataDir = join(dir, 'data');
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  let pki: LabPki | undefined;
  try {
    pki = options.tls ? await makePki(join(dir, 'pki')) : undefined;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const tlsArgs = pki
    ? ['--client-cert-auth', '--trusted-ca-file', pki.ca, '--cert-file', join(pki.dir, 'server.crt'), '--key-file', join(pki.dir, 'server.key')]
    : [];
  const ctlTls = pki ? ['--cacert', pki.ca, '--cert', pki.clientCert, '--key', pki.clientKey] : [];
  const healthTls = pki ? { ca: await readFile(pki.ca, 'utf8'), cert: await readFile(pki.clientCert, 'utf8'), key: await readFile(pki.clientKey, 'utf8') } : undefined;
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
      ...tlsArgs, ...(options.extraArgs ?? []),
    ]);
    proc.all?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    entry.proc = proc;
    await waitHealthy(url, proc, () => output, 15_000, healthTls);
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
    const r = await execa('/usr/bin/etcdctl', ['--endpoints', url, ...ctlTls, ...args], {
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
    ...(pki ? { pki } : {}),
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
