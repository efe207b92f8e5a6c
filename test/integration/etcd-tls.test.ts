/**
 * etcd with TLS client auth and with etcd users, reached calicoctl's way: flags, the ETCD_*
 * environment, a calicoctl.cfg. Real etcd (test/lab/etcd.ts) on loopback, a throwaway CA.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESOURCE_COMMANDS } from '../../src/cli/resource-commands.ts';
import { UsageError } from '../../src/cli/io.ts';
import { EtcdClient } from '../../src/etcd/client.ts';
import { execa } from 'execa';
import mqtt from 'mqtt';
import { RELAY_SETTINGS } from '../../src/config/relay-config.ts';
import { generateSigningKeyPair, privateKeyToPem } from '../../src/platform/signing.ts';
import { freePort, startEtcd, type LabEtcd } from '../lab/etcd.ts';

const T = 60_000;
let tls: LabEtcd;
let auth: LabEtcd;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-etcd-tls-'));
  [tls, auth] = await Promise.all([startEtcd({ tls: true }), startEtcd({ extraArgs: ['--auth-token-ttl', '1'] })]);
  await auth.etcdctl(['user', 'add', 'root:rootpw']);
  await auth.etcdctl(['auth', 'enable']);
}, T);
afterAll(async () => {
  await tls?.destroy();
  await auth?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Cmd = keyof typeof RESOURCE_COMMANDS;
async function run(cmd: Cmd, args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await RESOURCE_COMMANDS[cmd](args, { out: (t) => void out.push(t), err: (t) => void err.push(t), env });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return { code: 2, out: out.join('\n'), err: [...err, e.message].join('\n') };
  }
}

let n = 0;
async function policy(name: string): Promise<string> {
  const p = join(dir, `p${++n}.yaml`);
  await writeFile(p, `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n  selector: all()\n  ingress:\n    - action: Allow\n`);
  return p;
}
const tlsFlags = () => ['--etcd', tls.url, '--etcd-ca-cert', tls.pki!.ca, '--etcd-cert', tls.pki!.clientCert, '--etcd-key', tls.pki!.clientKey];

describe('etcd with TLS client auth', () => {
  test('apply and get with the flags', async () => {
    const a = await run('apply', ['-f', await policy('tls-flags'), ...tlsFlags()]);
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    const g = await run('get', ['globalnetworkpolicy', 'tls-flags', '-o', 'yaml', ...tlsFlags()]);
    expect(g.code).toBe(0);
    expect(g.out).toContain('name: tls-flags');
    const raw = await tls.etcdctl(['get', '--prefix', '--keys-only', '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/']);
    expect(raw.stdout).toContain('tls-flags');
  }, T);

  test('apply and get with the ETCD_* environment calicoctl reads', async () => {
    const env = { ETCD_ENDPOINTS: tls.url, ETCD_CA_CERT_FILE: tls.pki!.ca, ETCD_CERT_FILE: tls.pki!.clientCert, ETCD_KEY_FILE: tls.pki!.clientKey };
    expect((await run('apply', ['-f', await policy('tls-env')], env)).code).toBe(0);
    const g = await run('get', ['globalnetworkpolicy'], env);
    expect(g.code).toBe(0);
    expect(g.out).toContain('tls-env');
  }, T);

  test('apply and get with a calicoctl.cfg (-c)', async () => {
    const cfg = join(dir, 'calicoctl.cfg');
    await writeFile(cfg, `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n  datastoreType: etcdv3\n  etcdEndpoints: ${tls.url}\n  etcdCACertFile: ${tls.pki!.ca}\n  etcdCertFile: ${tls.pki!.clientCert}\n  etcdKeyFile: ${tls.pki!.clientKey}\n`);
    expect((await run('apply', ['-f', await policy('tls-cfg'), '-c', cfg])).code).toBe(0);
    const g = await run('get', ['globalnetworkpolicy', 'tls-cfg', '-c', cfg]);
    expect(g.code).toBe(0);
    expect(g.out).toContain('tls-cfg');
    // A file that is not a CalicoAPIConfig is refused, naming the field.
    await writeFile(cfg, `apiVersion: projectcalico.org/v3\nkind: Nope\nspec: {}\n`);
    const bad = await run('get', ['globalnetworkpolicy', '-c', cfg]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('kind must be CalicoAPIConfig');
  }, T);

  test('a server certificate from another CA is refused with a clear error', async () => {
    const g = await run('get', ['globalnetworkpolicy', '--etcd', tls.url, '--etcd-ca-cert', tls.pki!.otherCa, '--etcd-cert', tls.pki!.clientCert, '--etcd-key', tls.pki!.clientKey]);
    expect(g.code).toBe(1);
    expect(g.err).toContain('not trusted by the CA');
  }, T);

  test('without a trusted client certificate etcd refuses the connection, and the message says what it needs', async () => {
    const g = await run('get', ['globalnetworkpolicy', '--etcd', tls.url, '--etcd-ca-cert', tls.pki!.ca]);
    expect(g.code).toBe(1);
    expect(g.err).toContain('needs --etcd-cert and --etcd-key signed by its --trusted-ca-file');
    // A client certificate from a CA etcd does not trust gets the same answer.
    const other = await run('get', ['globalnetworkpolicy', '--etcd', tls.url, '--etcd-ca-cert', tls.pki!.ca, '--etcd-cert', tls.pki!.otherClientCert, '--etcd-key', tls.pki!.otherClientKey]);
    expect(other.code).toBe(1);
    expect(other.err).toContain('TLS: etcd refused the connection');
  }, T);

  test('a client key readable by group is refused, naming the file and the fix', async () => {
    const loose = join(dir, 'loose.key');
    await copyFile(tls.pki!.clientKey, loose);
    await chmod(loose, 0o640);
    const g = await run('get', ['globalnetworkpolicy', '--etcd', tls.url, '--etcd-ca-cert', tls.pki!.ca, '--etcd-cert', tls.pki!.clientCert, '--etcd-key', loose]);
    expect(g.code).toBe(2);
    expect(g.err).toContain(`${loose}: private key is readable by group or others (mode 0640)`);
    expect(g.err).toContain(`chmod 600 ${loose}`);
    expect(g.err).not.toContain('PRIVATE KEY-----');
  }, T);

  test('TLS files with an http:// endpoint are refused (they would not be used)', async () => {
    const g = await run('get', ['globalnetworkpolicy', '--etcd', tls.url.replace('https:', 'http:'), '--etcd-ca-cert', tls.pki!.ca]);
    expect(g.code).toBe(2);
    expect(g.err).toContain('use https://');
  }, T);
});

const MAIN = join(import.meta.dir, '../../src/main.ts');
/** The embedded broker's anonymous mode, when this build requires it to be asked for. */
const insecure = () => (RELAY_SETTINGS.some((x) => x.key === 'insecure') ? ['--insecure'] : []);

async function signingKey(mode: number): Promise<string> {
  const p = join(dir, `relay-${mode.toString(8)}.key`);
  await writeFile(p, privateKeyToPem(generateSigningKeyPair().privateKey), { mode });
  await chmod(p, mode);
  return p;
}

describe('the relay over etcd TLS', () => {
  test('reads etcd with a client certificate and publishes the node\'s snapshot', async () => {
    const hep = join(dir, 'hep.yaml');
    await writeFile(hep, 'apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: tls-node-eth0\n  labels: {role: tls}\nspec:\n  node: tls-node\n  interfaceName: eth0\n');
    expect((await run('apply', ['-f', hep, ...tlsFlags()])).code).toBe(0);
    const port = await freePort();
    const relay = execa(process.execPath, [MAIN, 'relay', '--config', '/dev/null', ...tlsFlags(), '--listen', `127.0.0.1:${port}`, ...insecure(), '--signing-key', await signingKey(0o600)], { reject: false, all: true, env: { PATH: process.env['PATH'] ?? '' }, extendEnv: false });
    let client: mqtt.MqttClient | undefined;
    try {
      const got = new Promise<string>((resolve) => {
        const tryConnect = () => {
          client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 200, connectTimeout: 2000 });
          client.on('connect', () => void client!.subscribe('outpost/v1/nodes/+/snapshot'));
          client.on('message', (topic) => resolve(topic));
        };
        tryConnect();
      });
      const topic = await Promise.race([got, Bun.sleep(20_000).then(() => 'timeout'), relay.then((r) => `relay exited: ${r.all}`)]);
      expect(topic).toBe('outpost/v1/nodes/tls-node/snapshot');
    } finally {
      client?.end(true);
      relay.kill('SIGTERM');
      await relay;
    }
  }, T);

  test('bundle export opens etcd as the relay does: TLS with a client certificate', async () => {
    const hep = join(dir, 'hep-bundle.yaml');
    await writeFile(hep, 'apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: bundle-node-eth0\nspec:\n  node: bundle-node\n  interfaceName: eth0\n');
    expect((await run('apply', ['-f', hep, ...tlsFlags()])).code).toBe(0);
    const out = join(dir, 'bundle-node.bundle');
    const r = await execa(process.execPath, [MAIN, 'bundle', 'export', '--node', 'bundle-node', ...tlsFlags(), '--signing-key', await signingKey(0o600), '--out', out], { reject: false, all: true });
    expect(`${r.exitCode} ${r.all}`).toStartWith('0');
    expect((await Bun.file(out).text()).length).toBeGreaterThan(100);
    // Without the client certificate etcd refuses it, and export says what is missing.
    const bare = await execa(process.execPath, [MAIN, 'bundle', 'export', '--node', 'bundle-node', '--etcd', tls.url, '--etcd-ca-cert', tls.pki!.ca, '--signing-key', await signingKey(0o600), '--out', join(dir, 'no.bundle')], { reject: false, all: true });
    expect(bare.exitCode).not.toBe(0);
  }, T);

  test('a relay given the wrong CA does not start reading, and says why', async () => {
    const port = await freePort();
    const args = [MAIN, 'relay', '--config', '/dev/null', '--etcd', tls.url, '--etcd-ca-cert', tls.pki!.otherCa, '--etcd-cert', tls.pki!.clientCert, '--etcd-key', tls.pki!.clientKey, '--listen', `127.0.0.1:${port}`, ...insecure(), '--signing-key', await signingKey(0o600)];
    const relay = execa(process.execPath, args, { reject: false, all: true, buffer: false });
    let log = '';
    relay.all?.on('data', (c: Buffer) => (log += c.toString()));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !log.includes('not trusted by the CA')) await Bun.sleep(100);
    relay.kill('SIGTERM');
    await relay;
    expect(log).toContain('not trusted by the CA');
  }, T);

  test('a group-readable signing key is refused before anything starts', async () => {
    const key = await signingKey(0o640);
    const r = await execa(process.execPath, [MAIN, 'relay', '--config', '/dev/null', ...tlsFlags(), '--listen', `127.0.0.1:${await freePort()}`, ...insecure(), '--signing-key', key], { reject: false, all: true, timeout: 20_000 });
    expect(r.exitCode).toBe(2);
    expect(r.all).toContain(`${key}: private key is readable by group or others (mode 0640)`);
    expect(r.all).toContain(`chmod 600 ${key}`);
    expect(r.all).not.toContain('PRIVATE KEY-----');
  }, T);

  test('a relay with etcd users logs in (calicoctl.cfg with etcdUsername/etcdPassword)', async () => {
    const cfg = join(dir, 'auth.cfg');
    await writeFile(cfg, `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  datastoreType: etcdv3\n  etcdEndpoints: ${auth.url}\n  etcdUsername: root\n  etcdPassword: rootpw\n`, { mode: 0o600 });
    const hep = join(dir, 'hep2.yaml');
    await writeFile(hep, 'apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: auth-node-eth0\nspec:\n  node: auth-node\n  interfaceName: eth0\n');
    expect((await run('apply', ['-f', hep, '-c', cfg])).code).toBe(0);
    const port = await freePort();
    const relay = execa(process.execPath, [MAIN, 'relay', '--config', '/dev/null', '--calicoctl-config', cfg, '--listen', `127.0.0.1:${port}`, ...insecure(), '--signing-key', await signingKey(0o600)], { reject: false, all: true, env: { PATH: process.env['PATH'] ?? '' }, extendEnv: false });
    let client: mqtt.MqttClient | undefined;
    try {
      const got = new Promise<string>((resolve) => {
        client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 200, connectTimeout: 2000 });
        client.on('connect', () => void client!.subscribe('outpost/v1/nodes/+/snapshot'));
        client.on('message', (topic) => resolve(topic));
      });
      const topic = await Promise.race([got, Bun.sleep(20_000).then(() => 'timeout'), relay.then((r) => `relay exited: ${r.all}`)]);
      expect(topic).toBe('outpost/v1/nodes/auth-node/snapshot');
    } finally {
      client?.end(true);
      relay.kill('SIGTERM');
      const r = await relay;
      expect(String(r.all)).not.toContain('rootpw');
    }
  }, T);
});

describe('etcd with auth enabled', () => {
  test('username and password from the flags and from the environment; the token is renewed', async () => {
    const flags = ['--etcd', auth.url, '--etcd-username', 'root', '--etcd-password', 'rootpw'];
    const a = await run('apply', ['-f', await policy('auth-flags'), ...flags]);
    expect(a.code).toBe(0);
    const env = { ETCD_ENDPOINTS: auth.url, ETCD_USERNAME: 'root', ETCD_PASSWORD: 'rootpw' };
    const g = await run('get', ['globalnetworkpolicy', 'auth-flags'], env);
    expect(g.code).toBe(0);
    expect(g.out).toContain('auth-flags');
  }, T);

  test('one client logs in again when its token expires (--auth-token-ttl 1)', async () => {
    const client = new EtcdClient({ endpoints: [auth.url], credentials: { username: 'root', password: 'rootpw' } });
    await client.put('/outpost-test/a', '1');
    await Bun.sleep(2500);
    expect((await client.get('/outpost-test/a')).kv?.value).toBe('1');
    await client.put('/outpost-test/a', '2');
    expect((await client.get('/outpost-test/a')).kv?.value).toBe('2');
  }, T);

  test('a wrong password and no credentials are refused; the password never shows', async () => {
    const wrong = await run('get', ['globalnetworkpolicy', '--etcd', auth.url, '--etcd-username', 'root', '--etcd-password', 'hunter2-wrong']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('authentication failed');
    expect(wrong.err).not.toContain('hunter2-wrong');
    const none = await run('get', ['globalnetworkpolicy', '--etcd', auth.url]);
    expect(none.code).toBe(1);
    expect(none.err).toContain('user name is empty');
  }, T);
});
