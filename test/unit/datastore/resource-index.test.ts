/** ResourceIndex: the pure bookkeeping behind EtcdSource (last-good, deletes, re-list diffs, layouts). */
import { describe, expect, test } from 'bun:test';
import { ResourceIndex } from '../../../src/datastore/etcd-source.ts';
import type { ResourceError } from '../../../src/model/validate.ts';

const ROOT = '/calico/resources/v3/projectcalico.org';
const hepKV = (name: string, node: string, modRevision: string) => ({
  key: `${ROOT}/hostendpoints/${name}`,
  value: JSON.stringify({ kind: 'HostEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name }, spec: { node, interfaceName: 'eth0' } }),
  createRevision: modRevision,
  modRevision,
  version: '1',
});
const gnpKV = (key: string, name: string, modRevision: string, selector = 'all()') => ({
  key: `${ROOT}/globalnetworkpolicies/${key}`,
  value: JSON.stringify({ kind: 'GlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3', metadata: { name }, spec: { selector } }),
  createRevision: modRevision,
  modRevision,
  version: '1',
});

function index() {
  const errors: ResourceError[] = [];
  return { idx: new ResourceIndex((e) => errors.push(e)), errors };
}
const summary = (idx: ResourceIndex) => idx.resources().map((r) => `${r.kind}/${r.metadata.name}@${r.metadata.resourceVersion}`);

describe('ResourceIndex', () => {
  test('always holds the synthesized default-allow profile', () => {
    expect(summary(index().idx)).toEqual(['Profile/projectcalico-default-allow@1']);
  });

  test('puts and deletes; other kinds change nothing', () => {
    const { idx } = index();
    expect(idx.put(hepKV('h1', 'n1', '5'))).toBe(true);
    expect(idx.put({ ...hepKV('x', 'n', '6'), key: `${ROOT}/networkpolicies/ns/x` })).toBe(false);
    expect(summary(idx)).toEqual(['HostEndpoint/h1@5', 'Profile/projectcalico-default-allow@1']);
    expect(idx.delete(`${ROOT}/hostendpoints/h1`)).toBe(true);
    expect(idx.delete(`${ROOT}/hostendpoints/h1`)).toBe(false);
  });

  test('an invalid value keeps the last valid version and reports key and field', () => {
    const { idx, errors } = index();
    idx.put(hepKV('h1', 'n1', '5'));
    expect(idx.put({ ...hepKV('h1', 'n1', '6'), value: JSON.stringify({ metadata: { name: 'h1' }, spec: { interfaceName: 'eth0' } }) })).toBe(false);
    expect(errors).toMatchObject([{ source: `${ROOT}/hostendpoints/h1`, path: 'spec.node', message: 'node is required' }]);
    expect(summary(idx)).toContain('HostEndpoint/h1@5');
    expect(idx.put({ ...hepKV('h2', 'n1', '7'), value: '{' })).toBe(false);
    expect(summary(idx)).not.toContain('HostEndpoint/h2@7');
  });

  test('replaceAll: deletes what is gone, skips unchanged revisions, applies the rest', () => {
    const { idx, errors } = index();
    idx.put(hepKV('a', 'n', '2'));
    idx.put(hepKV('b', 'n', '3'));
    idx.put({ ...hepKV('bad', 'n', '4'), value: '[]' });
    expect(errors).toHaveLength(1);
    expect(idx.replaceAll([hepKV('b', 'n', '3'), { ...hepKV('bad', 'n', '4'), value: '[]' }, hepKV('c', 'n', '9')])).toBe(true);
    expect(summary(idx)).toEqual(['HostEndpoint/b@3', 'HostEndpoint/c@9', 'Profile/projectcalico-default-allow@1']);
    expect(errors).toHaveLength(1); // the unchanged bad value is not reported again
    expect(idx.replaceAll([hepKV('b', 'n', '3'), hepKV('c', 'n', '9')])).toBe(false);
  });

  test('a ≥3.32 key wins over a ≤3.31 copy of the same policy, whatever the order', () => {
    const { idx } = index();
    idx.put(gnpKV('p', 'p', '10', 'new == "x"'));
    idx.put(gnpKV('default.p', 'default.p', '11', 'old == "x"'));
    const p = idx.resources().find((r) => r.kind === 'GlobalNetworkPolicy');
    expect(p?.metadata.resourceVersion).toBe('10');
    idx.delete(`${ROOT}/globalnetworkpolicies/p`);
    expect(idx.resources().find((r) => r.kind === 'GlobalNetworkPolicy')?.metadata.resourceVersion).toBe('11');
  });

  test('namespaced kinds: one entry per namespace; an invalid WorkloadEndpoint is absent, not its last valid version', () => {
    const { idx, errors } = index();
    const wepKV = (ns: string, ip: string, modRevision: string) => ({
      key: `${ROOT}/workloadendpoints/${ns}/n1-k8s-web--0-eth0`,
      value: JSON.stringify({ kind: 'WorkloadEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name: 'n1-k8s-web--0-eth0', namespace: ns }, spec: { ipNetworks: [ip] } }),
      createRevision: modRevision,
      modRevision,
      version: '1',
    });
    const weps = () => idx.resources().filter((r) => r.kind === 'WorkloadEndpoint').map((r) => `${r.metadata.namespace}/${r.metadata.name}@${r.metadata.resourceVersion}`);
    expect(idx.put(wepKV('shop', '198.18.9.5/32', '5'))).toBe(true);
    expect(idx.put(wepKV('lab', '198.18.9.6/32', '6'))).toBe(true);
    expect(weps()).toEqual(['lab/n1-k8s-web--0-eth0@6', 'shop/n1-k8s-web--0-eth0@5']);
    expect(idx.put(wepKV('shop', '198.18.9.0/24', '7'))).toBe(true);
    expect(errors).toMatchObject([{ source: `${ROOT}/workloadendpoints/shop/n1-k8s-web--0-eth0`, path: 'spec.ipNetworks[0]' }]);
    expect(weps()).toEqual(['lab/n1-k8s-web--0-eth0@6']);
    expect(idx.put(wepKV('shop', '198.18.9.0/24', '8'))).toBe(false);
    expect(idx.put(wepKV('shop', '198.18.9.7/32', '9'))).toBe(true);
    expect(weps()).toEqual(['lab/n1-k8s-web--0-eth0@6', 'shop/n1-k8s-web--0-eth0@9']);
  });

  test('a stored WorkloadEndpoint with fields this version does not know is still read (Felix ignores them)', () => {
    const { idx, errors } = index();
    const value = { kind: 'WorkloadEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name: 'w', namespace: 'shop' }, spec: { ipNetworks: ['198.18.9.5/32'], someFutureField: { x: 1 } } };
    expect(idx.put({ key: `${ROOT}/workloadendpoints/shop/w`, value: JSON.stringify(value), createRevision: '3', modRevision: '3', version: '1' })).toBe(true);
    expect(errors).toEqual([]);
  });
});
