import { describe, expect, test } from 'bun:test';
import {
  decodeStored,
  defaultAllowProfile,
  encodeForStorage,
  kindPrefix,
  legacyPolicyKey,
  parseResourceKey,
  resourceKey,
  type Encoded,
} from '../../../src/datastore/calico-layout.ts';
import { validateResource, type Resource } from '../../../src/model/index.ts';

const ctx = { uid: '3f0c2f4e-0000-4000-8000-000000000001', now: new Date('2026-01-01T00:00:00.123Z') };
const ROOT = '/calico/resources/v3/projectcalico.org';

function valid(raw: unknown): Resource {
  const r = validateResource(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resource;
}
const res = (kind: string, metadata: object, spec?: object) =>
  valid({ apiVersion: 'projectcalico.org/v3', kind, metadata, ...(spec ? { spec } : {}) });

function stored(e: Encoded): { key: string; value: string } {
  if (!e.ok) throw new Error(`${e.path}: ${e.message}`);
  return { key: e.key, value: e.value };
}

describe('keys', () => {
  test('map kinds to Calico plurals under the v3 root', () => {
    expect(resourceKey('HostEndpoint', 'web1-eth0')).toBe(`${ROOT}/hostendpoints/web1-eth0`);
    expect(resourceKey('GlobalNetworkPolicy', 'allow-ssh')).toBe(`${ROOT}/globalnetworkpolicies/allow-ssh`);
    expect(kindPrefix('FelixConfiguration')).toBe(`${ROOT}/felixconfigurations/`);
    expect(kindPrefix('GlobalNetworkSet')).toBe(`${ROOT}/globalnetworksets/`);
    expect(kindPrefix('Tier')).toBe(`${ROOT}/tiers/`);
    expect(kindPrefix('Profile')).toBe(`${ROOT}/profiles/`);
  });
  test('parse only global keys of supported kinds', () => {
    expect(parseResourceKey(`${ROOT}/tiers/default`)).toEqual({ kind: 'Tier', keyName: 'default' });
    expect(parseResourceKey(`${ROOT}/networkpolicies/ns/p`)).toBeUndefined();
    expect(parseResourceKey(`${ROOT}/clusterinformations/default`)).toBeUndefined();
    expect(parseResourceKey('/calico/ipam/v2/x')).toBeUndefined();
  });
  test('the ≤3.31 key exists only for policies without the prefix', () => {
    expect(legacyPolicyKey('GlobalNetworkPolicy', 'a')).toBe(`${ROOT}/globalnetworkpolicies/default.a`);
    expect(legacyPolicyKey('GlobalNetworkPolicy', 'default.a')).toBeUndefined();
    expect(legacyPolicyKey('HostEndpoint', 'a')).toBeUndefined();
  });
});

describe('encodeForStorage: the bytes Calico stores', () => {
  test('HostEndpoint: struct field order, uid and creationTimestamp filled, nothing else', () => {
    const r = res(
      'HostEndpoint',
      { name: 'web1-eth0', labels: { role: 'web', app: 'x' } },
      { node: 'web1', interfaceName: 'eth0', expectedIPs: ['10.0.0.5'], profiles: ['projectcalico-default-allow'], ports: [{ port: 443, protocol: 'TCP', name: 'https' }] },
    );
    expect(stored(encodeForStorage(r, 'create', ctx))).toEqual({
      key: `${ROOT}/hostendpoints/web1-eth0`,
      value:
        '{"kind":"HostEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"web1-eth0","uid":"3f0c2f4e-0000-4000-8000-000000000001","creationTimestamp":"2026-01-01T00:00:00Z","labels":{"app":"x","role":"web"}},' +
        '"spec":{"node":"web1","interfaceName":"eth0","expectedIPs":["10.0.0.5"],"profiles":["projectcalico-default-allow"],"ports":[{"name":"https","protocol":"TCP","port":443}]}}',
    });
  });

  test('GlobalNetworkPolicy: plain key, tier and types defaulted, tier label, name annotation, Go escaping', () => {
    const r = res('GlobalNetworkPolicy', { name: 'allow-ssh' }, {
      selector: "role == 'web' && env == 'prod'",
      ingress: [{ action: 'Allow', protocol: 'TCP', source: {}, destination: { ports: [22, '8000:8000', '9000:9100', 'http'] } }],
    });
    expect(stored(encodeForStorage(r, 'create', ctx))).toEqual({
      key: `${ROOT}/globalnetworkpolicies/allow-ssh`,
      value:
        '{"kind":"GlobalNetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"allow-ssh","uid":"3f0c2f4e-0000-4000-8000-000000000001","creationTimestamp":"2026-01-01T00:00:00Z",' +
        '"labels":{"projectcalico.org/tier":"default"},"annotations":{"projectcalico.org/metadata":"{\\"name\\":\\"allow-ssh\\"}"}},' +
        '"spec":{"tier":"default","ingress":[{"action":"Allow","protocol":"TCP","destination":{"ports":[22,8000,"9000:9100","http"]}}],"selector":"role == \'web\' \\u0026\\u0026 env == \'prod\'","types":["Ingress"]}}',
    });
  });

  test('GlobalNetworkPolicy: an explicit empty types is defaulted on write, as Calico does', () => {
    const r = res('GlobalNetworkPolicy', { name: 'eg' }, { tier: 'net', order: 10.5, types: [], egress: [{ action: 'Deny' }] });
    const { value } = stored(encodeForStorage(r, 'create', ctx));
    expect(value).toContain('"labels":{"projectcalico.org/tier":"net"}');
    expect(value).toContain('"spec":{"tier":"net","order":10.5,"egress":[{"action":"Deny"}],"types":["Egress"]}');
  });

  test('GlobalNetworkPolicy at a ≤3.31 key keeps that key and stored name', () => {
    const r = res('GlobalNetworkPolicy', { name: 'a', resourceVersion: '5', uid: 'u', creationTimestamp: '2025-01-01T00:00:00Z' });
    const e = encodeForStorage(r, 'update', ctx, { legacyKey: true });
    expect(e.ok && e.key).toBe(`${ROOT}/globalnetworkpolicies/default.a`);
    expect(e.ok && e.revision).toBe('5');
    expect(e.ok && e.value).toStartWith(
      '{"kind":"GlobalNetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"default.a","uid":"u","creationTimestamp":"2025-01-01T00:00:00Z","labels":{"projectcalico.org/tier":"default"},"annotations":{"projectcalico.org/metadata":"{\\"name\\":\\"a\\"}"}}',
    );
  });

  test('Tier: order and action defaulted, and the empty status Go always writes', () => {
    expect(stored(encodeForStorage(res('Tier', { name: 'net' }), 'create', ctx)).value).toBe(
      '{"kind":"Tier","apiVersion":"projectcalico.org/v3","metadata":{"name":"net","uid":"3f0c2f4e-0000-4000-8000-000000000001","creationTimestamp":"2026-01-01T00:00:00Z"},"spec":{"order":1000000,"defaultAction":"Deny"},"status":{}}',
    );
  });

  test('Profile: labelsToApply sorted, numeric protocol, empty entity rules left out', () => {
    const r = res('Profile', { name: 'p' }, { labelsToApply: { z: '1', a: '2' }, ingress: [{ action: 'Deny', protocol: '6', source: { nets: ['10.0.0.0/8'] } }] });
    expect(stored(encodeForStorage(r, 'create', ctx)).value).toBe(
      '{"kind":"Profile","apiVersion":"projectcalico.org/v3","metadata":{"name":"p","uid":"3f0c2f4e-0000-4000-8000-000000000001","creationTimestamp":"2026-01-01T00:00:00Z"},"spec":{"ingress":[{"action":"Deny","protocol":6,"source":{"nets":["10.0.0.0/8"]}}],"labelsToApply":{"a":"2","z":"1"}}}',
    );
  });

  test('GlobalNetworkSet and FelixConfiguration (with the defaults etcd mode adds)', () => {
    expect(stored(encodeForStorage(res('GlobalNetworkSet', { name: 's', labels: { a: 'b' } }, { nets: ['10.1.0.0/16'] }), 'create', ctx)).value).toBe(
      '{"kind":"GlobalNetworkSet","apiVersion":"projectcalico.org/v3","metadata":{"name":"s","uid":"3f0c2f4e-0000-4000-8000-000000000001","creationTimestamp":"2026-01-01T00:00:00Z","labels":{"a":"b"}},"spec":{"nets":["10.1.0.0/16"]}}',
    );
    const fc = res('FelixConfiguration', { name: 'default' }, { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22 }], logSeverityScreen: 'Info', failsafeOutboundHostPorts: [] });
    expect(stored(encodeForStorage(fc, 'create', ctx)).value).toBe(
      '{"kind":"FelixConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"default","uid":"3f0c2f4e-0000-4000-8000-000000000001","creationTimestamp":"2026-01-01T00:00:00Z"},' +
        '"spec":{"logSeverityScreen":"Info","failsafeInboundHostPorts":[{"protocol":"TCP","port":22}],"failsafeOutboundHostPorts":[],"nftablesMode":"Auto","nftablesFlowTableOffload":"Disabled",' +
        '"bpfLogLevel":"","bpfConnectTimeLoadBalancing":"TCP","bpfHostNetworkedNATWithoutCTLB":"Enabled","floatingIPs":"Disabled"}}',
    );
  });

  test('refuses what Calico refuses', () => {
    const withRV = res('HostEndpoint', { name: 'h', resourceVersion: '3' }, { node: 'n', interfaceName: 'eth0' });
    expect(encodeForStorage(withRV, 'create', ctx)).toEqual({ ok: false, path: 'metadata.resourceVersion', message: 'field must not be set for a Create request' });
    const noRV = res('HostEndpoint', { name: 'h', uid: 'u', creationTimestamp: '2025-01-01T00:00:00Z' }, { node: 'n', interfaceName: 'eth0' });
    expect(encodeForStorage(noRV, 'update', ctx)).toMatchObject({ ok: false, path: 'metadata.resourceVersion' });
    const noUID = res('HostEndpoint', { name: 'h', resourceVersion: '3', creationTimestamp: '2025-01-01T00:00:00Z' }, { node: 'n', interfaceName: 'eth0' });
    expect(encodeForStorage(noUID, 'update', ctx)).toMatchObject({ ok: false, path: 'metadata.uid' });
    expect(encodeForStorage(res('Profile', { name: 'projectcalico-default-allow' }), 'create', ctx)).toMatchObject({ ok: false, path: 'metadata.name' });
  });

  test('an update keeps uid/creationTimestamp and clears resourceVersion from the stored bytes', () => {
    const r = res('GlobalNetworkSet', { name: 's', resourceVersion: '41', uid: 'u', creationTimestamp: '2025-06-01T12:00:00+02:00' }, { nets: ['10.0.0.1'] });
    const e = encodeForStorage(r, 'update', ctx);
    expect(e).toEqual({
      ok: true,
      key: `${ROOT}/globalnetworksets/s`,
      revision: '41',
      value: '{"kind":"GlobalNetworkSet","apiVersion":"projectcalico.org/v3","metadata":{"name":"s","uid":"u","creationTimestamp":"2025-06-01T10:00:00Z"},"spec":{"nets":["10.0.0.1"]}}',
    });
  });
});

describe('decodeStored', () => {
  const kv = (key: string, value: unknown, modRevision = '12') => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value), modRevision });

  test('round-trips what encodeForStorage wrote, with resourceVersion = ModRevision', () => {
    const r = res('GlobalNetworkPolicy', { name: 'allow-ssh', annotations: { note: 'x' } }, { order: 5, ingress: [{ action: 'Allow' }] });
    const e = stored(encodeForStorage(r, 'create', ctx));
    const d = decodeStored({ ...e, modRevision: '9007199254740993' });
    expect(d?.ok).toBe(true);
    if (!d?.ok) return;
    expect(d.name).toBe('allow-ssh');
    expect(d.object['metadata']).toEqual({
      name: 'allow-ssh',
      uid: ctx.uid,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { 'projectcalico.org/tier': 'default' },
      annotations: { note: 'x' },
      resourceVersion: '9007199254740993',
    });
    expect(validateResource(d.object).ok).toBe(true);
  });

  test('≤3.31 policy keys: name from the annotation, else default. stripped for the default tier', () => {
    const withAnnotation = decodeStored(kv(`${ROOT}/globalnetworkpolicies/default.web`, {
      kind: 'GlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3',
      metadata: { name: 'default.web', annotations: { 'projectcalico.org/metadata': '{"name":"web"}' } },
      spec: { tier: 'default', selector: 'all()' },
    }));
    expect(withAnnotation).toMatchObject({ ok: true, name: 'web', keyName: 'default.web' });
    expect(withAnnotation?.ok && withAnnotation.object['metadata']).toEqual({ name: 'web', resourceVersion: '12', labels: { 'projectcalico.org/tier': 'default' } });

    const bare = decodeStored(kv(`${ROOT}/globalnetworkpolicies/default.db`, { metadata: { name: 'default.db' }, spec: {} }));
    expect(bare).toMatchObject({ ok: true, name: 'db', keyName: 'default.db' });

    const otherTier = decodeStored(kv(`${ROOT}/globalnetworkpolicies/default.db`, { metadata: { name: 'default.db', labels: { 'projectcalico.org/tier': 'net' } }, spec: { tier: 'net' } }));
    expect(otherTier).toMatchObject({ ok: true, name: 'default.db' });
    expect(otherTier?.ok && (otherTier.object['metadata'] as { labels: unknown }).labels).toEqual({ 'projectcalico.org/tier': 'net' });
  });

  test('the key decides the kind; a missing name comes from the key', () => {
    const d = decodeStored(kv(`${ROOT}/hostendpoints/h1`, { spec: { node: 'n', interfaceName: 'eth0' } }));
    expect(d?.ok && d.object).toEqual({ kind: 'HostEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name: 'h1', resourceVersion: '12' }, spec: { node: 'n', interfaceName: 'eth0' } });
  });

  test('bad values are errors naming the key; foreign keys and the synthesized profile are ignored', () => {
    expect(decodeStored(kv(`${ROOT}/hostendpoints/h1`, '{"kind":'))).toMatchObject({
      ok: false,
      error: { source: `${ROOT}/hostendpoints/h1`, kind: 'HostEndpoint', name: 'h1', path: '' },
    });
    expect(decodeStored(kv(`${ROOT}/hostendpoints/h1`, '[1]'))).toMatchObject({ ok: false });
    expect(decodeStored(kv(`${ROOT}/globalnetworkpolicies/p`, { metadata: { name: 'p', annotations: { 'projectcalico.org/metadata': '{' } } }))).toMatchObject({
      ok: false,
      error: { path: 'metadata.annotations["projectcalico.org/metadata"]' },
    });
    expect(decodeStored(kv(`${ROOT}/nodes/n1`, {}))).toBeUndefined();
    expect(decodeStored(kv(`${ROOT}/profiles/projectcalico-default-allow`, {}))).toBeUndefined();
  });

  test('the synthesized default-allow profile is a valid Profile at revision 1', () => {
    const r = validateResource(defaultAllowProfile());
    expect(r.ok && r.resource.metadata.resourceVersion).toBe('1');
  });
});
