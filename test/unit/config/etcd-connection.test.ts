/** calicoctl's sources and precedence for the etcd connection, and what is refused. */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdClientOptions, etcdFromEnv, loadCalicoctlConfig, resolveEtcdConnection } from '../../../src/config/etcd-connection.ts';

const dir = mkdtempSync(join(tmpdir(), 'outpost-etcdconn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string, mode = 0o600) => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode });
  return p;
};
const cfg = (spec: string) => file(`c${Math.random().toString(36).slice(2)}.cfg`, `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n${spec}`);
const none = join(dir, 'no-default.cfg');

describe('sources', () => {
  test('CALICO_ETCD_* wins over ETCD_* (envconfig), OUTPOST_ETCD_ENDPOINTS over both', () => {
    expect(etcdFromEnv({ ETCD_ENDPOINTS: 'https://a:2379', CALICO_ETCD_ENDPOINTS: 'https://b:2379', ETCD_USERNAME: 'u', CALICO_ETCD_USERNAME: 'v' })).toEqual({ endpoints: ['https://b:2379'], username: 'v' });
    expect(etcdFromEnv({ ETCD_ENDPOINTS: 'https://a:2379', OUTPOST_ETCD_ENDPOINTS: 'https://c:2379,https://d:2379' }).endpoints).toEqual(['https://c:2379', 'https://d:2379']);
  });

  test('a config file replaces the environment (no mix); flags override single fields', async () => {
    const c = cfg('  datastoreType: etcdv3\n  etcdEndpoints: https://f:2379\n  etcdUsername: fileuser\n  etcdPassword: filepw\n');
    const r = await resolveEtcdConnection({ overrides: { username: 'flaguser' }, configFile: c, env: { ETCD_CA_CERT_FILE: '/env/ca', ETCD_ENDPOINTS: 'https://e:2379' }, defaultConfigFile: none });
    expect(r).toEqual({ endpoints: ['https://f:2379'], username: 'flaguser', password: 'filepw' });
  });

  test('calicoctl\'s default file only when neither flags\' file nor environment names anything', async () => {
    const d = cfg('  etcdEndpoints: https://default:2379\n');
    expect((await resolveEtcdConnection({ overrides: {}, env: {}, defaultConfigFile: d })).endpoints).toEqual(['https://default:2379']);
    expect((await resolveEtcdConnection({ overrides: {}, env: { ETCD_ENDPOINTS: 'https://e:2379' }, defaultConfigFile: d })).endpoints).toEqual(['https://e:2379']);
  });

  test('a --etcd-ca-cert flag replaces an inline etcdCACert from the file', async () => {
    const c = cfg('  etcdEndpoints: https://f:2379\n  etcdCACert: "-----BEGIN CERTIFICATE-----"\n');
    const r = await resolveEtcdConnection({ overrides: { caCertFile: '/flag/ca.crt' }, configFile: c, env: {}, defaultConfigFile: none });
    expect(r.caCert).toBeUndefined();
    expect(r.caCertFile).toBe('/flag/ca.crt');
  });
});

describe('refusals', () => {
  test.each([
    ['kind: Nope', 'apiVersion: projectcalico.org/v3\nkind: Nope\nspec: {}\n', 'kind must be CalicoAPIConfig'],
    ['an old apiVersion', 'apiVersion: v1\nkind: calicoApiConfig\nspec: {}\n', 'apiVersion must be projectcalico.org/v3'],
    ['the kubernetes datastore', 'apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  datastoreType: kubernetes\n', 'datastoreType is kubernetes'],
    ['etcdEndpoints that is not a string', 'apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  etcdEndpoints: [1]\n', 'spec.etcdEndpoints'],
  ])('a calicoctl.cfg with %s', async (_, text, message) => {
    await expect(loadCalicoctlConfig(file('bad.cfg', text))).rejects.toThrow(message);
  });

  test.each([
    ['no endpoints', {}, 'no etcd endpoints'],
    ['a cert without its key', { endpoints: ['https://a:2379'], certFile: '/x.crt' }, 'certificate needs its key'],
    ['a key without its cert', { endpoints: ['https://a:2379'], keyFile: '/x.key' }, 'key needs its certificate'],
    ['TLS files with http://', { endpoints: ['http://a:2379'], caCertFile: '/ca.crt' }, 'use https://'],
    ['a user without a password', { endpoints: ['https://a:2379'], username: 'u' }, 'has no password'],
    ['a password without a user', { endpoints: ['https://a:2379'], password: 'secret-pw' }, 'without a username'],
    ['a missing CA file', { endpoints: ['https://a:2379'], caCertFile: join(dir, 'nope.crt') }, 'nope.crt: no such file'],
  ])('%s', async (_, c, message) => {
    const r = etcdClientOptions(c);
    await expect(r).rejects.toThrow(message);
    await r.catch((e: Error) => expect(e.message).not.toContain('secret-pw'));
  });

  test('a client key readable by others is refused; 0600 is read', async () => {
    const crt = file('c.crt', 'CERT');
    await expect(etcdClientOptions({ endpoints: ['https://a:2379'], certFile: crt, keyFile: file('k644.key', 'KEY', 0o644) })).rejects.toThrow('chmod 600');
    const ok = await etcdClientOptions({ endpoints: ['https://a:2379'], certFile: crt, keyFile: file('k600.key', 'KEY', 0o600) });
    expect(ok.options.tls).toEqual({ cert: 'CERT', key: 'KEY' });
  });

  test('credentials over http:// work but warn, naming the user and not the password', async () => {
    const r = await etcdClientOptions({ endpoints: ['http://a:2379'], username: 'root', password: 'secret-pw' });
    expect(r.options.credentials).toEqual({ username: 'root', password: 'secret-pw' });
    expect(r.warnings.join()).toContain('clear text');
    expect(r.warnings.join()).not.toContain('secret-pw');
  });
});
