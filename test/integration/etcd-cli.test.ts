/**
 * `outpost apply/create/replace/delete/get` against a real etcd: calicoctl's semantics
 * (create fails when it exists, CAS on resourceVersion, the synthesized profile, tiers) and
 * what ends up in etcd, read back raw with etcdctl, is Calico's stored form.
 */
import { describe, expect, test } from 'bun:test';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../src/cli/io.ts';
import { useEtcdCliLab } from './etcd-cli-lab.ts';

const ROOT = '/calico/resources/v3/projectcalico.org';
const T = 30_000;
const lab = useEtcdCliLab('outpost-cli-');
const { run, file } = lab;

async function raw(key: string): Promise<{ value: string; modRevision: string } | undefined> {
  const r = await lab.etcd.etcdctl(['get', key, '-w', 'json']);
  const kv = (JSON.parse(r.stdout) as { kvs?: { value: string; mod_revision: number }[] }).kvs?.[0];
  return kv && { value: Buffer.from(kv.value, 'base64').toString('utf8'), modRevision: String(kv.mod_revision) };
}

const HEP = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: web1-eth0
  labels: {role: web}
spec:
  node: web1
  interfaceName: eth0
  expectedIPs: [10.0.0.5]
  profiles: [projectcalico-default-allow]
  ports:
  - {name: https, protocol: TCP, port: 443}
`;

const GNP = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-ssh
spec:
  order: 100
  selector: role == 'web' && has(ssh)
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [22]}
`;

describe('outpost create/replace/apply/delete/get with etcd', () => {
  test('create stores exactly Calico\'s form, ensures the built-in tiers, and a second create fails', async () => {
    const f = await file(HEP);
    const first = await run('create', ['-f', f]);
    expect(first).toMatchObject({ code: 0, out: "Successfully created 1 'HostEndpoint' resource(s)" });
    const stored = await raw(`${ROOT}/hostendpoints/web1-eth0`);
    const meta = JSON.parse(stored!.value).metadata as { uid: string; creationTimestamp: string };
    expect(meta.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(meta.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(stored!.value).toBe(
      `{"kind":"HostEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"web1-eth0","uid":"${meta.uid}","creationTimestamp":"${meta.creationTimestamp}","labels":{"role":"web"}},` +
        '"spec":{"node":"web1","interfaceName":"eth0","expectedIPs":["10.0.0.5"],"profiles":["projectcalico-default-allow"],"ports":[{"name":"https","protocol":"TCP","port":443}]}}',
    );
    const tier = await raw(`${ROOT}/tiers/default`);
    expect(tier?.value).toMatch(/^\{"kind":"Tier","apiVersion":"projectcalico.org\/v3","metadata":\{"name":"default","uid":"[^"]+","creationTimestamp":"[^"]+"\},"spec":\{"order":1000000,"defaultAction":"Deny"\},"status":\{\}\}$/);
    expect(await raw(`${ROOT}/tiers/kube-admin`)).toBeDefined();

    const again = await run('create', ['-f', f]);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`Failed to create 'HostEndpoint' resource: ${f}: HostEndpoint 'web1-eth0': resource already exists: HostEndpoint(web1-eth0)`);
    expect((await raw(`${ROOT}/hostendpoints/web1-eth0`))?.modRevision).toBe(stored!.modRevision);
    expect((await run('create', ['-f', f, '--skip-exists'])).code).toBe(0);
  }, T);

  test('policies: stored with tier, types, tier label and name annotation; a missing tier refuses the create', async () => {
    expect((await run('create', ['-f', await file(GNP)])).code).toBe(0);
    const v = JSON.parse((await raw(`${ROOT}/globalnetworkpolicies/allow-ssh`))!.value);
    expect(v.metadata.labels).toEqual({ 'projectcalico.org/tier': 'default' });
    expect(v.metadata.annotations).toEqual({ 'projectcalico.org/metadata': '{"name":"allow-ssh"}' });
    expect(v.spec).toEqual({ tier: 'default', order: 100, ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [22] } }], selector: "role == 'web' && has(ssh)", types: ['Ingress'] });
    expect((await raw(`${ROOT}/globalnetworkpolicies/allow-ssh`))!.value).toContain('"selector":"role == \'web\' \\u0026\\u0026 has(ssh)"');

    const other = await run('create', ['-f', await file(GNP.replace('allow-ssh', 'in-net').replace('order: 100', 'tier: net'))]);
    expect(other.code).toBe(1);
    expect(other.err).toContain('resource does not exist: Tier(net)');
  }, T);

  test('replace: stale resourceVersion is a conflict, the current one or none succeeds', async () => {
    await run('create', ['-f', await file(HEP)]);
    const rev = (await raw(`${ROOT}/hostendpoints/web1-eth0`))!.modRevision;
    const before = (await raw(`${ROOT}/hostendpoints/web1-eth0`))!.value;
    const withRV = (rv: string, node: string) => HEP.replace('  name: web1-eth0', `  name: web1-eth0\n  resourceVersion: "${rv}"`).replace('node: web1', `node: ${node}`);

    const stale = await run('replace', ['-f', await file(withRV(String(Number(rev) - 1), 'web2'))]);
    expect(stale.code).toBe(1);
    expect(stale.err).toContain(`update conflict: HostEndpoint(web1-eth0): resource version '${Number(rev) - 1}' is out of date (latest: ${rev})`);
    expect((await raw(`${ROOT}/hostendpoints/web1-eth0`))!.value).toBe(before);

    expect(await run('replace', ['-f', await file(withRV(rev, 'web3'))])).toMatchObject({ code: 0, out: "Successfully replaced 1 'HostEndpoint' resource(s)" });
    const after = JSON.parse((await raw(`${ROOT}/hostendpoints/web1-eth0`))!.value);
    expect(after.spec.node).toBe('web3');
    // uid and creationTimestamp survive an update; resourceVersion is never stored.
    expect(after.metadata.uid).toBe(JSON.parse(before).metadata.uid);
    expect(after.metadata.resourceVersion).toBeUndefined();

    expect((await run('replace', ['-f', await file(HEP.replace('node: web1', 'node: web4'))])).code).toBe(0);
    const missing = await run('replace', ['-f', await file(HEP.replace('web1-eth0', 'nope'))]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('resource does not exist: HostEndpoint(nope)');
  }, T);

  test('apply twice is idempotent; a change is applied as an update', async () => {
    const f = await file(`${HEP}---\n${GNP}`);
    expect(await run('apply', ['-f', f])).toMatchObject({ code: 0, out: 'Successfully applied 2 resource(s)' });
    const a = await raw(`${ROOT}/hostendpoints/web1-eth0`);
    const g = await raw(`${ROOT}/globalnetworkpolicies/allow-ssh`);
    expect((await run('apply', ['-f', f])).code).toBe(0);
    expect(await raw(`${ROOT}/hostendpoints/web1-eth0`)).toEqual(a!);
    expect(await raw(`${ROOT}/globalnetworkpolicies/allow-ssh`)).toEqual(g!);

    expect((await run('apply', ['-f', await file(GNP.replace('order: 100', 'order: 200'))])).code).toBe(0);
    const changed = await raw(`${ROOT}/globalnetworkpolicies/allow-ssh`);
    expect(BigInt(changed!.modRevision)).toBeGreaterThan(BigInt(g!.modRevision));
    expect(JSON.parse(changed!.value).spec.order).toBe(200);
    expect(JSON.parse(changed!.value).metadata.uid).toBe(JSON.parse(g!.value).metadata.uid);
  }, T);

  test('delete: compare-and-swap on the file\'s resourceVersion, by name, and the refusals', async () => {
    await run('create', ['-f', await file(HEP)]);
    const rev = (await raw(`${ROOT}/hostendpoints/web1-eth0`))!.modRevision;
    const stale = await run('delete', ['-f', await file(HEP.replace('  name: web1-eth0', `  name: web1-eth0\n  resourceVersion: "${Number(rev) - 1}"`))]);
    expect(stale.code).toBe(1);
    expect(stale.err).toContain('update conflict: HostEndpoint(web1-eth0)');
    expect(await raw(`${ROOT}/hostendpoints/web1-eth0`)).toBeDefined();

    expect(await run('delete', ['hep', 'web1-eth0'])).toMatchObject({ code: 0, out: "Successfully deleted 1 'HostEndpoint' resource(s)" });
    expect(await raw(`${ROOT}/hostendpoints/web1-eth0`)).toBeUndefined();
    const gone = await run('delete', ['hostendpoint', 'web1-eth0']);
    expect(gone.code).toBe(1);
    expect(gone.err).toContain('resource does not exist: HostEndpoint(web1-eth0)');
    expect((await run('delete', ['hep', 'web1-eth0', '--skip-not-exists'])).code).toBe(0);

    const builtin = await run('delete', ['profile', 'projectcalico-default-allow']);
    expect(builtin.code).toBe(1);
    expect(builtin.err).toContain('cannot be deleted');
    await run('create', ['-f', await file(GNP)]);
    expect((await run('delete', ['tier', 'default'])).err).toContain('Cannot delete default tier');
  }, T);

  test('get: calicoctl table, wide, json and yaml output', async () => {
    await run('create', ['-f', await file(`${HEP}---\n${GNP}`)]);
    const h = await raw(`${ROOT}/hostendpoints/web1-eth0`);
    const m = JSON.parse(h!.value).metadata as { uid: string; creationTimestamp: string };

    expect((await run('get', ['hep'])).out).toBe('NAME        NODE   \nweb1-eth0   web1   \n\n');
    expect((await run('get', ['heps', '-o', 'wide'])).out).toBe(
      'NAME        NODE   INTERFACE   IPS        PROFILES                      \nweb1-eth0   web1   eth0        10.0.0.5   projectcalico-default-allow   \n\n',
    );
    expect((await run('get', ['gnp', '-o', 'wide'])).out).toBe(
      "NAME        TIER      ORDER   SELECTOR                    \nallow-ssh   default   100     role == 'web' && has(ssh)   \n\n",
    );
    expect((await run('get', ['profiles'])).out).toBe('NAME                          \nprojectcalico-default-allow   \n\n');
    expect((await run('get', ['tiers'])).out).toBe('NAME            ORDER   \nkube-admin      1000    \ndefault         1e+06   \nkube-baseline   1e+07   \n\n');

    expect((await run('get', ['hep', 'web1-eth0', '-o', 'json'])).out).toBe(`{
  "kind": "HostEndpoint",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "web1-eth0",
    "uid": "${m.uid}",
    "resourceVersion": "${h!.modRevision}",
    "creationTimestamp": "${m.creationTimestamp}",
    "labels": {
      "role": "web"
    }
  },
  "spec": {
    "node": "web1",
    "interfaceName": "eth0",
    "expectedIPs": [
      "10.0.0.5"
    ],
    "profiles": [
      "projectcalico-default-allow"
    ],
    "ports": [
      {
        "name": "https",
        "protocol": "TCP",
        "port": 443
      }
    ]
  }
}`);
    const yaml = (await run('get', ['gnp', 'allow-ssh', '-o', 'yaml'])).out;
    const g = await raw(`${ROOT}/globalnetworkpolicies/allow-ssh`);
    const gm = JSON.parse(g!.value).metadata as { uid: string; creationTimestamp: string };
    expect(yaml).toBe(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  creationTimestamp: "${gm.creationTimestamp}"
  labels:
    projectcalico.org/tier: default
  name: allow-ssh
  resourceVersion: "${g!.modRevision}"
  uid: ${gm.uid}
spec:
  ingress:
  - action: Allow
    destination:
      ports:
      - 22
    protocol: TCP
  order: 100
  selector: role == 'web' && has(ssh)
  tier: default
  types:
  - Ingress
`);
    const listed = JSON.parse((await run('get', ['profile', '-o', 'json'])).out);
    expect(listed.kind).toBe('ProfileList');
    expect(listed.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['projectcalico-default-allow']);
    expect(listed.metadata.resourceVersion).toBe(await lab.etcd.revision());

    const missing = await run('get', ['hep', 'web1-eth0', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe('resource does not exist: HostEndpoint(nope)');
  }, T);

  test('invalid input: every problem named by file, resource and field, and nothing written', async () => {
    const bad = await file(`${HEP}---\n${GNP.replace('protocol: TCP', 'protocol: tcp')}`);
    const r = await run('apply', ['-f', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${bad}: GlobalNetworkPolicy 'allow-ssh': spec.ingress[0].protocol: invalid protocol "tcp"`);
    expect(r.err).toContain('nothing was written');
    expect(await raw(`${ROOT}/hostendpoints/web1-eth0`)).toBeUndefined();
    expect(await raw(`${ROOT}/tiers/default`)).toBeUndefined();

    const broken = await run('create', ['-f', await file('kind: [unclosed', 'yaml')]);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('YAML syntax error');
    const nofile = await run('create', ['-f', join(lab.dir, 'does-not-exist.yaml')]);
    expect(nofile.code).toBe(1);
    expect(nofile.err).toContain('cannot read');
  }, T);

  test('≤3.31 policy keys: found by name, replaced in place, deleted', async () => {
    await run('apply', ['-f', await file(`apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: default}\nspec: {order: 1000000}\n`)]);
    const legacyKey = `${ROOT}/globalnetworkpolicies/default.old`;
    await lab.etcd.etcdctl(['put', legacyKey, JSON.stringify({ kind: 'GlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3', metadata: { name: 'default.old', uid: 'u-old', creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { tier: 'default', selector: 'all()', types: ['Ingress'] } })]);
    expect((await run('get', ['gnp'])).out).toBe('NAME   TIER      \nold    default   \n\n');
    expect((await run('create', ['-f', await file(GNP.replace('allow-ssh', 'old'))])).err).toContain('resource already exists');
    expect((await run('apply', ['-f', await file(GNP.replace('allow-ssh', 'old'))])).code).toBe(0);
    expect(await raw(`${ROOT}/globalnetworkpolicies/old`)).toBeUndefined();
    const v = JSON.parse((await raw(legacyKey))!.value);
    expect(v.metadata).toMatchObject({ name: 'default.old', uid: 'u-old', annotations: { 'projectcalico.org/metadata': '{"name":"old"}' } });
    expect(v.spec.order).toBe(100);
    expect((await run('delete', ['gnp', 'old'])).code).toBe(0);
    expect(await raw(legacyKey)).toBeUndefined();
  }, T);

  test('folders, stdin, endpoints from the environment, and usage errors', async () => {
    const sub = join(lab.dir, 'tree');
    await mkdir(join(sub, 'deeper'), { recursive: true });
    await writeFile(join(sub, 'a.yaml'), HEP);
    await writeFile(join(sub, 'notes.txt'), 'ignored');
    await writeFile(join(sub, 'deeper', 'b.json'), JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'net' }, spec: { nets: ['10.1.0.0/16'] } }));
    expect((await run('apply', ['-f', sub])).out).toBe("Successfully applied 1 'HostEndpoint' resource(s)");
    expect((await run('apply', ['-f', sub, '-R'])).out).toBe('Successfully applied 2 resource(s)');
    expect((await run('apply', ['-f', '-'], { stdin: GNP })).code).toBe(0);
    expect((await run('get', ['gns', 'net'], { env: { ETCD_ENDPOINTS: lab.etcd.url } })).out).toBe('NAME   \nnet    \n\n');
    expect((await run('get', ['gns', '--etcd', `http://127.0.0.1:1,${lab.etcd.url}`], { env: {} })).code).toBe(0);

    await expect(run('get', ['hep'], { env: {} })).rejects.toThrow(UsageError);
    await expect(run('get', ['networkpolicy'])).rejects.toThrow(/not managed by outpost/);
    await expect(run('get', ['hep', '-o', 'xml'])).rejects.toThrow(/unrecognized output format/);
    await expect(run('create', [])).rejects.toThrow(/needs -f/);
    await expect(run('delete', ['hep'])).rejects.toThrow(UsageError);
  }, T);

  test('etcd down: a clear error and exit 1', async () => {
    const r = await run('get', ['hep'], { env: { OUTPOST_ETCD_ENDPOINTS: 'http://127.0.0.1:1' } });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^etcd: etcd unreachable: http:\/\/127\.0\.0\.1:1: /);
  }, T);
});
