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
import { startEtcd, type LabEtcd } from '../lab/etcd.ts';

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

  test('without a client certificate etcd refuses the connection', async () => {
    const g = await run('get', ['globalnetworkpolicy', '--etcd', tls.url, '--etcd-ca-cert', tls.pki!.ca]);
    expect(g.code).toBe(1);
    expect(g.err).toContain('etcd');
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
