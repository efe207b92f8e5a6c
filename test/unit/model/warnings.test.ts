// Warnings: FelixConfiguration fields outpost does not implement (accepted, kept as
// written, named) versus typos (refused); rules with an HTTP match; and the warnings a
// manifest file collects.
import { describe, expect, test } from 'bun:test';
import { FELIX_UNIMPLEMENTED_FIELDS } from '../../../src/model/felix-fields.ts';
import { formatResourceError, parseManifest, validateResource, type FelixConfiguration } from '../../../src/model/index.ts';
import { expectError, gnp, resource, type Obj } from './helpers.ts';

const felix = (spec: Obj, name = 'default') => resource('FelixConfiguration', name, spec);

function warningsOf(raw: unknown): string[] {
  const r = validateResource(raw, 'f.yaml');
  if (!r.ok) throw new Error(r.errors.map(formatResourceError).join('\n'));
  return r.warnings.map(formatResourceError);
}

describe('FelixConfiguration', () => {
  test('an unimplemented Felix field is accepted, kept as written, and warned about by name (in Felix field order)', () => {
    const spec = { bpfEnabled: true, routeTableRange: { min: 1, max: 250 }, logSeverityScreen: 'Info', healthTimeoutOverrides: [{ name: 'x', timeout: '30s' }] };
    const r = validateResource(felix(spec), 'f.yaml');
    if (!r.ok) throw new Error(r.errors.map(formatResourceError).join('\n'));
    expect((r.resource as FelixConfiguration).spec).toEqual(spec);
    expect(r.warnings.map(formatResourceError)).toEqual([
      "f.yaml: FelixConfiguration 'default': spec.logSeverityScreen: not implemented by outpost; it has no effect",
      "f.yaml: FelixConfiguration 'default': spec.healthTimeoutOverrides: not implemented by outpost; it has no effect",
      "f.yaml: FelixConfiguration 'default': spec.bpfEnabled: not implemented by outpost; it has no effect",
      "f.yaml: FelixConfiguration 'default': spec.routeTableRange: not implemented by outpost; it has no effect",
    ]);
  });

  test('the implemented fields give no warning and are typed', () => {
    const spec = {
      failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22 }],
      failsafeOutboundHostPorts: [{ protocol: 'UDP', port: 53, net: '10.0.0.0/8' }],
      ipv6Support: false,
      disableConntrackInvalidCheck: true,
    };
    expect(warningsOf(felix(spec))).toEqual([]);
    expectError(felix({ ipv6Support: 'no' }), 'spec.ipv6Support', 'true or false');
    expectError(felix({ disableConntrackInvalidCheck: 1 }), 'spec.disableConntrackInvalidCheck', 'true or false');
  });

  test('a typo of a Felix field is refused like any unknown field', () => {
    expectError(felix({ ipv6Suport: false }), 'spec.ipv6Suport', 'unknown field; did you mean `ipv6Support`?');
    expectError(felix({ bpfEnable: true }), 'spec.bpfEnable', 'unknown field; did you mean `bpfEnabled`?');
  });

  test('Felix fields match ignoring case and are warned about under the canonical name', () => {
    expect(warningsOf(felix({ BPFEnabled: true }))).toEqual([
      "f.yaml: FelixConfiguration 'default': spec.bpfEnabled: not implemented by outpost; it has no effect",
    ]);
    const r = validateResource(felix({ IPv6Support: false }));
    expect(r.ok && (r.resource as FelixConfiguration).spec).toEqual({ ipv6Support: false });
  });

  test('the field list is the real one: no duplicates, no implemented field in it', () => {
    const names: readonly string[] = FELIX_UNIMPLEMENTED_FIELDS;
    expect(new Set(names).size).toBe(names.length);
    for (const f of ['failsafeInboundHostPorts', 'failsafeOutboundHostPorts', 'nodeSelector', 'ipv6Support', 'disableConntrackInvalidCheck']) {
      expect(names).not.toContain(f);
    }
    // The calicoctl defaults outpost writes in etcd mode are real fields (they must read back).
    for (const f of ['floatingIPs', 'bpfConnectTimeLoadBalancing', 'bpfHostNetworkedNATWithoutCTLB', 'nftablesMode', 'nftablesFlowTableOffload', 'bpfLogLevel', 'vxlanVNI', 'wireguardKeepAlive', 'externalNodesList']) {
      expect(names).toContain(f);
    }
  });
});

describe('HTTP matches', () => {
  test('a rule with http is valid and warned about, naming the path', () => {
    const raw = gnp({ ingress: [{ action: 'Allow' }, { action: 'Allow', http: { methods: ['GET'] } }] }, 'web');
    expect(warningsOf(raw)).toEqual([
      "f.yaml: GlobalNetworkPolicy 'web': spec.ingress[1].http: an HTTP match has no effect on a host (Calico applies it only to workloads with application-layer policy); the rule is enforced without it",
    ]);
  });
  test('in a Profile too', () => {
    const raw = resource('Profile', 'p', { ingress: [{ action: 'Allow', http: { paths: [{ prefix: '/api' }] } }] });
    expect(warningsOf(raw).map((w) => w.split(': ').slice(2, 3)[0])).toEqual(['spec.ingress[0].http']);
  });
  test('no http, no warning', () => expect(warningsOf(gnp({ ingress: [{ action: 'Allow' }] }))).toEqual([]));
});

test('parseManifest collects the warnings of the resources it loads', () => {
  const text = `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec:
  bpfEnabled: false
  failsafeInboundHostPorts: [{protocol: TCP, port: 22}]
`;
  const r = parseManifest(text, 'felix.yaml');
  expect(r.errors).toEqual([]);
  expect(r.resources).toHaveLength(1);
  expect(r.warnings.map(formatResourceError)).toEqual([
    "felix.yaml: FelixConfiguration 'default': spec.bpfEnabled: not implemented by outpost; it has no effect",
  ]);
});
