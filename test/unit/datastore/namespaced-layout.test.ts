/** Calico's etcd layout for the namespaced kinds (NetworkSet, WorkloadEndpoint) and the watched span. */
import { describe, expect, test } from 'bun:test';
import { decodeStored, encodeForStorage, kindPrefix, parseResourceKey, resourceKey, resourceSpan } from '../../../src/datastore/calico-layout.ts';
import { validateResource, type Resource } from '../../../src/model/index.ts';

const ROOT = '/calico/resources/v3/projectcalico.org';
const ctx = { uid: '3f0c2f4e-0000-4000-8000-000000000001', now: new Date('2026-01-01T00:00:00Z') };

function valid(raw: unknown): Resource {
  const r = validateResource(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resource;
}

describe('namespaced keys', () => {
  test('are <plural>/<namespace>/<name>; no namespace means "default"', () => {
    expect(resourceKey('NetworkSet', 'partners', 'shop')).toBe(`${ROOT}/networksets/shop/partners`);
    expect(resourceKey('NetworkSet', 'partners')).toBe(`${ROOT}/networksets/default/partners`);
    expect(resourceKey('WorkloadEndpoint', 'n1-k8s-web--0-eth0', 'shop')).toBe(`${ROOT}/workloadendpoints/shop/n1-k8s-web--0-eth0`);
    expect(kindPrefix('WorkloadEndpoint', 'shop')).toBe(`${ROOT}/workloadendpoints/shop/`);
    expect(kindPrefix('WorkloadEndpoint')).toBe(`${ROOT}/workloadendpoints/`);
    // A global kind never takes a namespace.
    expect(resourceKey('HostEndpoint', 'h', 'shop')).toBe(`${ROOT}/hostendpoints/h`);
  });

  test('parse with their namespace; a key of the wrong scope for its kind is not ours', () => {
    expect(parseResourceKey(`${ROOT}/networksets/shop/partners`)).toEqual({ kind: 'NetworkSet', namespace: 'shop', keyName: 'partners' });
    expect(parseResourceKey(`${ROOT}/workloadendpoints/shop/w`)).toEqual({ kind: 'WorkloadEndpoint', namespace: 'shop', keyName: 'w' });
    expect(parseResourceKey(`${ROOT}/networksets/partners`)).toBeUndefined();
    expect(parseResourceKey(`${ROOT}/hostendpoints/ns/h`)).toBeUndefined();
    expect(parseResourceKey(`${ROOT}/networkpolicies/ns/p`)).toBeUndefined();
  });

  test('the watched span holds every kind outpost reads, and not the IPAM or BGP kinds', () => {
    const { start, end } = resourceSpan();
    const inside = (k: string) => k >= start && k < end;
    for (const k of [
      `${ROOT}/felixconfigurations/default`,
      `${ROOT}/profiles/kns.shop`,
      `${ROOT}/profiles/ksa.shop.web`,
      `${ROOT}/networksets/shop/partners`,
      `${ROOT}/tiers/default`,
      `${ROOT}/workloadendpoints/shop/w`,
      `${ROOT}/workloadendpoints/zz/zz`,
    ]) expect(inside(k)).toBe(true);
    for (const k of [`${ROOT}/blockaffinities/x`, `${ROOT}/bgppeers/x`, `${ROOT}/caliconodestatuses/x`, `${ROOT}/workloadendpointsx/a`, '/calico/ipam/v2/x']) {
      expect(inside(k)).toBe(false);
    }
  });
});

describe('NetworkSet storage', () => {
  test('stored with its namespace in the key and in metadata, like calicoctl', () => {
    const r = valid({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', metadata: { name: 'partners', namespace: 'shop', labels: { role: 'partner' } }, spec: { nets: ['198.18.10.0/24'] } });
    const e = encodeForStorage(r, 'create', ctx);
    expect(e).toEqual({
      ok: true,
      key: `${ROOT}/networksets/shop/partners`,
      revision: undefined,
      value: '{"kind":"NetworkSet","apiVersion":"projectcalico.org/v3","metadata":{"name":"partners","namespace":"shop","uid":"3f0c2f4e-0000-4000-8000-000000000001","creationTimestamp":"2026-01-01T00:00:00Z","labels":{"role":"partner"}},"spec":{"nets":["198.18.10.0/24"]}}',
    });
    const noNs = valid({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', metadata: { name: 'lab' }, spec: {} });
    expect(encodeForStorage(noNs, 'create', ctx)).toMatchObject({ ok: true, key: `${ROOT}/networksets/default/lab` });
  });

  test('decoding takes the namespace from the key', () => {
    const d = decodeStored({ key: `${ROOT}/networksets/shop/partners`, value: JSON.stringify({ metadata: { name: 'partners' }, spec: { nets: ['198.18.10.0/24'] } }), modRevision: '7' });
    expect(d).toMatchObject({ ok: true, kind: 'NetworkSet', namespace: 'shop', name: 'partners' });
    expect(d?.ok && d.object['metadata']).toEqual({ name: 'partners', namespace: 'shop', resourceVersion: '7' });
  });
});

describe('WorkloadEndpoint as the CNI plugin stores it', () => {
  // Field order and zero values as Go marshals libcalico-go's WorkloadEndpoint.
  const STORED = {
    kind: 'WorkloadEndpoint',
    apiVersion: 'projectcalico.org/v3',
    metadata: {
      name: 'node1-k8s-web--0-eth0', generateName: 'web-', namespace: 'shop', uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: 'web', role: 'frontend', 'projectcalico.org/namespace': 'shop', 'projectcalico.org/orchestrator': 'k8s', 'projectcalico.org/serviceaccount': 'web' },
    },
    spec: {
      orchestrator: 'k8s', node: 'node1', containerID: 'abc', pod: 'web-0', endpoint: 'eth0', serviceAccountName: 'web',
      ipNetworks: ['198.18.9.5/32'], profiles: ['kns.shop', 'ksa.shop.web'], interfaceName: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee',
      ports: [{ name: 'http', protocol: 'TCP', port: 8080, hostPort: 0, hostIP: '' }],
    },
  };

  test('decodes and validates; the stored bytes round-trip through the Go shape', () => {
    const d = decodeStored({ key: `${ROOT}/workloadendpoints/shop/node1-k8s-web--0-eth0`, value: JSON.stringify(STORED), modRevision: '9' });
    expect(d?.ok).toBe(true);
    if (!d?.ok) return;
    const r = validateResource(d.object);
    expect(r.ok).toBe(true);
    if (!r.ok || r.resource.kind !== 'WorkloadEndpoint') return;
    expect(r.resource.spec.ipNetworks).toEqual(['198.18.9.5/32']);
    const e = encodeForStorage({ ...r.resource, metadata: { ...r.resource.metadata, resourceVersion: '9' } }, 'update', ctx);
    expect(e.ok && JSON.parse(e.value)).toEqual(STORED);
  });

  test('what makes a stored WEP invalid: a network with more than one address, a bad label, a bad named port', () => {
    const problems = (spec: object, labels: object = {}) => {
      const r = validateResource({ ...STORED, metadata: { ...STORED.metadata, labels }, spec: { ...STORED.spec, ...spec } });
      return r.ok ? [] : r.errors.map((e) => e.path);
    };
    expect(problems({})).toEqual([]);
    expect(problems({ ipNetworks: ['198.18.9.0/24'] })).toEqual(['spec.ipNetworks[0]']);
    expect(problems({ ipNetworks: ['198.18.9.5'] })).toEqual([]);
    expect(problems({}, { 'bad key!': 'x' })).toEqual(['metadata.labels["bad key!"]']);
    expect(problems({ ports: [{ name: '', protocol: 'TCP', port: 80 }] })).toEqual(['spec.ports[0].name']);
    expect(problems({ ports: [{ name: '', protocol: 'TCP', port: 80, hostPort: 8080 }] })).toEqual([]);
    expect(problems({ ports: [{ name: 'x', protocol: 'ICMP', port: 80 }] })).toEqual(['spec.ports[0].protocol']);
    const noNs = validateResource({ ...STORED, metadata: { ...STORED.metadata, namespace: 'Not_A_Namespace' } });
    expect(noNs.ok ? [] : noNs.errors.map((e) => e.path)).toEqual(['metadata.namespace']);
  });
});
