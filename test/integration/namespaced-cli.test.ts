/**
 * The resource commands on namespaced kinds against a real etcd: NetworkSet through
 * apply/create/replace/delete/get with -n / -A as calicoctl handles them, WorkloadEndpoint
 * readable and deletable but never written.
 */
import { describe, expect, test } from 'bun:test';
import { useEtcdCliLab } from './etcd-cli-lab.ts';

const ROOT = '/calico/resources/v3/projectcalico.org';
const lab = useEtcdCliLab('outpost-ns-cli-');
const { run, file } = lab;
const keys = async () => (await lab.etcd.etcdctl(['get', '--prefix', `${ROOT}/networksets/`, '--keys-only'])).stdout.split('\n').filter(Boolean);
const netset = (name: string, ns?: string, nets = '[198.18.10.0/24]') => `apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: ${name}${ns ? `, namespace: ${ns}` : ''}, labels: {role: partner}}
spec: {nets: ${nets}}
`;

describe('NetworkSet', () => {
  test('apply stores at <ns>/<name>: the manifest\'s namespace, else -n, else "default"', async () => {
    expect((await run('apply', ['-f', await file(netset('a', 'shop'))])).code).toBe(0);
    expect((await run('apply', ['-f', await file(netset('b')), '-n', 'lab'])).code).toBe(0);
    expect((await run('apply', ['-f', await file(netset('c'))])).code).toBe(0);
    expect(await keys()).toEqual([`${ROOT}/networksets/default/c`, `${ROOT}/networksets/lab/b`, `${ROOT}/networksets/shop/a`]);
    const stored = JSON.parse((await lab.etcd.etcdctl(['get', `${ROOT}/networksets/shop/a`, '--print-value-only'])).stdout);
    expect(stored.metadata.namespace).toBe('shop');
    // A manifest's namespace that disagrees with -n is refused, and nothing is written.
    const clash = await run('apply', ['-f', await file(netset('d', 'shop')), '-n', 'lab']);
    expect(clash.code).toBe(1);
    expect(clash.err).toContain('resource namespace does not match client namespace. shop != lab');
    expect(await keys()).toHaveLength(3);
  });

  test('get: one namespace (default "default"), -n, -A with a NAMESPACE column; by name in its namespace', async () => {
    await run('apply', ['-f', await file(netset('a', 'shop') + '---\n' + netset('c'))]);
    expect((await run('get', ['networksets'])).out).toBe('NAME   \nc      \n\n');
    expect((await run('get', ['netsets', '-n', 'shop', '-o', 'wide'])).out).toBe('NAMESPACE   NAME   NETS             \nshop        a      198.18.10.0/24   \n\n');
    expect((await run('get', ['networkset', '-A'])).out).toBe('NAMESPACE   NAME   \ndefault     c      \nshop        a      \n\n');
    expect((await run('get', ['networkset', 'a', '-n', 'shop', '-o', 'yaml'])).out).toContain('namespace: shop');
    const missing = await run('get', ['networkset', 'a']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('resource does not exist: NetworkSet(default/a)');
    await expect(run('get', ['networkset', 'a', '-A'])).rejects.toThrow('cannot use --all-namespace flag for getting a single resource');
    await expect(run('get', ['hostendpoints', '-n', 'shop'])).rejects.toThrow('HostEndpoint is not namespaced');
  });

  test('create, replace and delete address the namespace', async () => {
    expect((await run('create', ['-f', await file(netset('a', 'shop'))])).code).toBe(0);
    expect((await run('create', ['-f', await file(netset('a', 'lab'))])).code).toBe(0);
    expect((await run('create', ['-f', await file(netset('a', 'shop'))])).err).toContain('resource already exists: NetworkSet(shop/a)');
    expect((await run('replace', ['-f', await file(netset('a', 'shop', '[198.18.11.0/24]'))])).code).toBe(0);
    expect((await lab.etcd.etcdctl(['get', `${ROOT}/networksets/shop/a`, '--print-value-only'])).stdout).toContain('198.18.11.0/24');
    expect((await lab.etcd.etcdctl(['get', `${ROOT}/networksets/lab/a`, '--print-value-only'])).stdout).toContain('198.18.10.0/24');
    expect((await run('delete', ['networkset', 'a', '-n', 'shop'])).code).toBe(0);
    expect(await keys()).toEqual([`${ROOT}/networksets/lab/a`]);
  });

  test('a global kind refuses a namespace', async () => {
    const hep = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: h, namespace: shop}
spec: {node: n, interfaceName: eth0}
`;
    const r = await run('apply', ['-f', await file(hep)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('HostEndpoint is not a namespaced resource');
  });
});

describe('WorkloadEndpoint', () => {
  const WEP = { kind: 'WorkloadEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name: 'n1-k8s-web--0-eth0', namespace: 'shop', uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { orchestrator: 'k8s', node: 'n1', pod: 'web-0', endpoint: 'eth0', ipNetworks: ['198.18.9.5/32'], profiles: ['kns.shop'], interfaceName: 'cali0' } };

  test('get (wide) and delete work; writing one is refused with a reason', async () => {
    await lab.etcd.etcdctl(['put', `${ROOT}/workloadendpoints/shop/n1-k8s-web--0-eth0`, JSON.stringify(WEP)]);
    expect((await run('get', ['weps', '-n', 'shop', '-o', 'wide'])).out).toBe(
      'NAMESPACE   NAME                 WORKLOAD   NODE   NETWORKS        INTERFACE   PROFILES   NATS   \n' +
        'shop        n1-k8s-web--0-eth0   web-0      n1     198.18.9.5/32   cali0       kns.shop          \n\n',
    );
    expect((await run('get', ['workloadendpoints'])).out).toBe('WORKLOAD   NODE   NETWORKS   INTERFACE   \n\n');
    const write = await run('apply', ['-f', await file(JSON.stringify({ ...WEP, metadata: { name: WEP.metadata.name, namespace: 'shop' } }))]);
    expect(write.code).toBe(1);
    expect(write.err).toContain("WorkloadEndpoints are written by Calico's CNI plugin");
    expect((await run('delete', ['wep', 'n1-k8s-web--0-eth0', '-n', 'shop'])).code).toBe(0);
    expect((await lab.etcd.etcdctl(['get', '--prefix', `${ROOT}/workloadendpoints/`, '--keys-only'])).stdout.trim()).toBe('');
  });
});
