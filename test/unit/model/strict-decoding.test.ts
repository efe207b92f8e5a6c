// Strict decoding: unknown fields at every nesting level of every
// kind are refused in a manifest with the nearest field name, known names match ignoring case
// and are stored under their canonical spelling, two keys for one field are refused, map keys
// are data, and values read from etcd ('stored') ignore unknown fields but report them.
import { describe, expect, test } from 'bun:test';
import { editDistance, nearest } from '../../../src/model/decode.ts';
import { formatResourceError, validateResource, type GlobalNetworkPolicy, type HostEndpoint } from '../../../src/model/index.ts';
import { expectError, gnp, hep, resource, valid, type Obj } from './helpers.ts';

const rule = (r: Obj) => gnp({ ingress: [r] });
const felix = (spec: Obj) => resource('FelixConfiguration', 'default', spec);
const HEP = { node: 'n', interfaceName: 'eth0' };

describe('an unknown field is refused at every level', () => {
  // [what, resource, path, message]
  const cases: [string, Obj, string, string][] = [
    ['top level', { ...gnp({}), sepc: {} }, 'sepc', 'did you mean `spec`?'],
    ['metadata', gnp({}, 'p', { lables: { a: 'b' } }), 'metadata.lables', 'did you mean `labels`?'],
    ['metadata owner reference', gnp({}, 'p', { ownerReferences: [{ kindd: 'x' }] }), 'metadata.ownerReferences[0].kindd', 'did you mean `kind`?'],
    ['HostEndpoint spec', hep({ ...HEP, expectedIP: ['10.0.0.1'] }), 'spec.expectedIP', 'did you mean `expectedIPs`?'],
    ['HostEndpoint ports entry', hep({ ...HEP, ports: [{ name: 'web', protocol: 'TCP', prot: 80 }] }), 'spec.ports[0].prot', 'did you mean `port`?'],
    ['Profile spec', resource('Profile', 'p', { labelToApply: {} }), 'spec.labelToApply', 'did you mean `labelsToApply`?'],
    ['Profile rule', resource('Profile', 'p', { egress: [{ action: 'Allow', protocl: 'TCP' }] }), 'spec.egress[0].protocl', 'did you mean `protocol`?'],
    ['GlobalNetworkPolicy spec', gnp({ ingres: [] }), 'spec.ingres', 'did you mean `ingress`?'],
    ['rule', rule({ action: 'Allow', destinaton: {} }), 'spec.ingress[0].destinaton', 'did you mean `destination`?'],
    ['entity rule', rule({ action: 'Allow', source: { net: ['10.0.0.0/8'] } }), 'spec.ingress[0].source.net', 'did you mean `nets`?'],
    ['entity rule serviceAccounts', rule({ action: 'Allow', source: { serviceAccounts: { name: ['a'] } } }), 'spec.ingress[0].source.serviceAccounts.name', 'did you mean `names`?'],
    ['entity rule services', rule({ action: 'Allow', destination: { services: { nam: 'a', namespace: 'b' } } }), 'spec.ingress[0].destination.services.nam', 'did you mean `name`?'],
    ['icmp', rule({ action: 'Allow', protocol: 'ICMP', icmp: { typ: 8 } }), 'spec.ingress[0].icmp.typ', 'did you mean `type`?'],
    ['notICMP', rule({ action: 'Allow', protocol: 'ICMP', notICMP: { type: 8, cod: 0 } }), 'spec.ingress[0].notICMP.cod', 'did you mean `code`?'],
    ['http', rule({ action: 'Allow', http: { method: ['GET'] } }), 'spec.ingress[0].http.method', 'did you mean `methods`?'],
    ['http path', rule({ action: 'Allow', http: { paths: [{ exakt: '/' }] } }), 'spec.ingress[0].http.paths[0].exakt', 'did you mean `exact`?'],
    ['rule metadata', rule({ action: 'Allow', metadata: { annotation: {} } }), 'spec.ingress[0].metadata.annotation', 'did you mean `annotations`?'],
    ['GlobalNetworkSet spec', resource('GlobalNetworkSet', 's', { net: ['10.0.0.0/8'] }), 'spec.net', 'did you mean `nets`?'],
    ['Tier spec', resource('Tier', 't', { defaultActon: 'Pass' }), 'spec.defaultActon', 'did you mean `defaultAction`?'],
    ['FelixConfiguration spec', felix({ bpfEnabeld: true }), 'spec.bpfEnabeld', 'did you mean `bpfEnabled`?'],
    ['FelixConfiguration failsafe entry', felix({ failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22, nett: '10.0.0.0/8' }] }), 'spec.failsafeInboundHostPorts[0].nett', 'did you mean `net`?'],
  ];
  for (const [what, raw, path, message] of cases) test(what, () => expectError(raw, path, `unknown field; ${message}`));

  test('the message has the usual format', () => {
    const r = validateResource(gnp({ ingres: [] }, 'allow-web'), 'policies/web.yaml');
    expect(!r.ok && r.errors.map(formatResourceError)).toEqual([
      "policies/web.yaml: GlobalNetworkPolicy 'allow-web': spec.ingres: unknown field; did you mean `ingress`?",
    ]);
  });

  test('no suggestion when nothing is close; a small object lists its fields', () => {
    expectError(rule({ action: 'Allow', protocol: 'ICMP', icmp: { zzz: 1 } }), 'spec.ingress[0].icmp.zzz', 'unknown field (known fields: type, code)');
    expectError(felix({ somethingElseEntirely: 1 }), 'spec.somethingElseEntirely', 'unknown field');
    const r = validateResource(felix({ somethingElseEntirely: 1 }));
    expect(!r.ok && r.errors[0]?.message).toBe('unknown field');
  });

  test("a Tier's status (calicoctl get prints `status: {}`) is a known field; its contents are checked", () => {
    expect(valid({ ...resource('Tier', 't', { order: 1 }), status: {} }).kind).toBe('Tier');
    expect(valid({ ...resource('Tier', 't'), status: { conditions: [{ type: 'Ready', status: 'True', reason: 'r', message: 'm', lastTransitionTime: 'x', observedGeneration: 1 }] } }).kind).toBe('Tier');
    expectError({ ...resource('Tier', 't'), status: { condition: [] } }, 'status.condition', 'did you mean `conditions`?');
    expectError({ ...gnp({}), status: {} }, 'status', 'unknown field');
  });

  test('every unknown field is reported, with the other problems', () => {
    const r = validateResource(gnp({ ingres: [], egres: [], selector: '(' }));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => e.path)).toEqual(['spec.ingres', 'spec.egres', 'spec.selector']);
  });
});

describe('field names match ignoring case, as Go encoding/json does', () => {
  test('alternate case is accepted and canonicalised at every level', () => {
    const p = valid({
      APIVersion: 'projectcalico.org/v3',
      Kind: 'GlobalNetworkPolicy',
      Metadata: { Name: 'p', Labels: { MixedCase: 'Value' } },
      Spec: {
        Order: 100,
        SELECTOR: 'all()',
        Ingress: [{ Action: 'Allow', Protocol: 'TCP', Source: { Nets: ['10.0.0.0/8'] }, Destination: { Ports: [80] }, ICMP: undefined }],
      },
    }) as GlobalNetworkPolicy;
    expect(p).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'p', labels: { MixedCase: 'Value' } },
      spec: {
        tier: 'default',
        order: 100,
        selector: 'all()',
        types: ['Ingress'],
        ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['10.0.0.0/8'] }, destination: { ports: [80] } }],
      },
    });
  });

  test('HostEndpoint InterfaceName / ExpectedIPs', () => {
    const h = valid(hep({ Node: 'n', InterfaceName: 'eth0', expectedips: ['10.0.0.1'] })) as HostEndpoint;
    expect(h.spec).toEqual({ node: 'n', interfaceName: 'eth0', expectedIPs: ['10.0.0.1'] });
  });

  test('map keys are data: labels, annotations and labelsToApply are neither folded nor refused', () => {
    const p = valid(resource('Profile', 'p', { labelsToApply: { Ingress: 'x', lables: 'y' } }, { labels: { Spec: 'a' }, annotations: { Selector: 'b' } }));
    expect(p.metadata).toEqual({ name: 'p', labels: { Spec: 'a' }, annotations: { Selector: 'b' } });
    expect((p.spec as Obj)['labelsToApply']).toEqual({ Ingress: 'x', lables: 'y' });
  });

  test('two keys for one field are refused, naming both', () => {
    expectError(gnp({ order: 1, Order: 2 }), 'spec.Order', '`order` and `Order` both set the field `order`');
    expectError(hep({ ...HEP, InterfaceName: 'eth1' }), 'spec.InterfaceName', '`interfaceName` and `InterfaceName`');
  });

  test('values keep their case: only field names fold', () => {
    expectError(rule({ action: 'allow' }), 'spec.ingress[0].action', 'action must be one of');
  });
});

describe("stored mode (values read from etcd) is lenient", () => {
  test('unknown fields are dropped and returned as notices; the resource is valid', () => {
    const raw = { ...gnp({ selector: 'all()', futureField: 1, ingress: [{ action: 'Allow', newMatch: {} }] }, 'p', { newMeta: 'x' }), status: {} };
    const r = validateResource(raw, '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/p', { mode: 'stored' });
    if (!r.ok) throw new Error(r.errors.map(formatResourceError).join('\n'));
    expect(r.notices.map((n) => n.path)).toEqual(['metadata.newMeta', 'spec.futureField', 'spec.ingress[0].newMatch', 'status']);
    expect(r.notices[0]?.message).toBe('unknown field ignored');
    expect(r.resource.spec).toEqual({ tier: 'default', selector: 'all()', ingress: [{ action: 'Allow' }] });
    expect('status' in r.resource).toBe(false);
  });

  test('case folding applies too, and two keys for one field are still refused', () => {
    const r = validateResource(gnp({ Selector: 'all()' }), 'k', { mode: 'stored' });
    expect(r.ok && r.resource.spec).toEqual({ tier: 'default', selector: 'all()' });
    expect(validateResource(gnp({ order: 1, Order: 2 }), 'k', { mode: 'stored' }).ok).toBe(false);
  });

  test('a manifest has no notices', () => {
    const r = validateResource(gnp({}));
    expect(r.notices).toEqual([]);
  });
});

describe('nearest field name', () => {
  test('edit distance counts a transposition as one edit', () => {
    expect(editDistance('lables', 'labels')).toBe(1);
    expect(editDistance('ingres', 'ingress')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
  });
  test('only close names are suggested', () => {
    expect(nearest('net', ['nets', 'notNets', 'selector'])).toBe('nets');
    expect(nearest('xyz', ['nets', 'notNets', 'selector'])).toBeUndefined();
    expect(nearest('ipVersio', ['ipVersion', 'protocol'])).toBe('ipVersion');
    expect(nearest('HostEndPoint', ['HostEndpoint', 'Profile'])).toBe('HostEndpoint');
  });
});
