// Resource union helpers and error formatting.
import { describe, expect, test } from 'bun:test';
import { RESOURCE_KINDS, formatResourceError, parseResourceKey, resourceKey, validateResource } from '../../../src/model/index.ts';
import { formatPath } from '../../../src/model/validate.ts';

describe('resource keys and kinds', () => {
  test('RESOURCE_KINDS lists exactly the supported kinds', () => {
    expect([...RESOURCE_KINDS].sort()).toEqual(['FelixConfiguration', 'GlobalNetworkPolicy', 'GlobalNetworkSet', 'HostEndpoint', 'NetworkSet', 'Profile', 'StagedGlobalNetworkPolicy', 'Tier', 'WorkloadEndpoint']);
    expect(Object.isFrozen(RESOURCE_KINDS)).toBe(true);
  });
  test('resourceKey is "<Kind>/<name>" and parses back', () => {
    expect(resourceKey({ kind: 'GlobalNetworkPolicy', metadata: { name: 'default.allow-ssh' } })).toBe('GlobalNetworkPolicy/default.allow-ssh');
    expect(parseResourceKey('HostEndpoint/web1-eth0')).toEqual({ kind: 'HostEndpoint', name: 'web1-eth0' });
    expect(parseResourceKey('nokey')).toBeUndefined();
  });
});

describe('formatResourceError', () => {
  test('full form', () => {
    expect(
      formatResourceError({
        source: 'policies/web.yaml',
        kind: 'GlobalNetworkPolicy',
        name: 'allow-web',
        path: 'spec.ingress[0].destination.ports[1]',
        message: 'port range 90:80 has min > max',
      }),
    ).toBe("policies/web.yaml: GlobalNetworkPolicy 'allow-web': spec.ingress[0].destination.ports[1]: port range 90:80 has min > max");
  });
  test('parts that are absent are left out', () => {
    expect(formatResourceError({ path: '', message: 'm' })).toBe('m');
    expect(formatResourceError({ source: 's', kind: 'Tier', path: 'spec', message: 'm' })).toBe('s: Tier: spec: m');
  });
  test('paths use dots and brackets, quoting keys that are not identifiers', () => {
    expect(formatPath(['spec', 'ingress', 0, 'source', 'nets', 2])).toBe('spec.ingress[0].source.nets[2]');
    expect(formatPath(['metadata', 'labels', 'projectcalico.org/name'])).toBe('metadata.labels["projectcalico.org/name"]');
  });
});

describe('validateResource', () => {
  test('carries source, kind and name into every error', () => {
    const r = validateResource(
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'Tier',
        metadata: { name: 'bad.tier' },
        spec: { defaultAction: 'Allow' },
      },
      'tiers.yaml',
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map(formatResourceError)).toEqual([
        'tiers.yaml: Tier \'bad.tier\': metadata.name: name "bad.tier" must be a lower-case DNS label (alphanumerics and "-", no dots)',
        'tiers.yaml: Tier \'bad.tier\': spec.defaultAction: defaultAction must be one of Deny, Pass (got "Allow")',
      ]);
    }
  });
  test('rejects non-objects, missing kind and missing apiVersion', () => {
    const messages = (raw: unknown) => {
      const r = validateResource(raw);
      return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
    };
    expect(messages([])).toEqual([': a resource must be an object (got a list)']);
    expect(messages({ metadata: { name: 'x' } })).toEqual(['kind: kind is required']);
    expect(messages({ kind: 'Profile', metadata: { name: 'x' } })).toEqual(['apiVersion: apiVersion must be projectcalico.org/v3 (apiVersion is required)']);
    expect(messages({ apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'x' }, spec: [] })).toEqual([
      'spec: spec must be an object (got [])',
    ]);
  });
  test('a list where an object belongs is an error, not an empty match', () => {
    const r = validateResource({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'p', labels: ['a'] },
      spec: { ingress: [{ action: 'Allow', protocol: 'TCP', destination: [{ ports: [80] }], icmp: [] }] },
    });
    expect(r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'metadata.labels: labels must be a map of strings (got ["a"])',
      'spec.ingress[0].icmp: an ICMP match must be an object (got [])',
      'spec.ingress[0].destination: source/destination must be an object (got [{"ports":[80]}])',
    ]);
  });
  test('does not mutate its input', () => {
    const raw = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'p' },
      spec: { ingress: [{ action: 'Allow', protocol: '6' }] },
    };
    const copy = structuredClone(raw);
    validateResource(raw);
    expect(raw).toEqual(copy);
  });
  test('output validates again to the same value (idempotent round trip)', () => {
    const raw = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'p', uid: 'u' },
      spec: { ingress: [{ action: 'Allow', protocol: '6', destination: { ports: ['80'] } }] },
    };
    const once = validateResource(raw);
    expect(once.ok).toBe(true);
    if (once.ok) {
      const twice = validateResource(JSON.parse(JSON.stringify(once.resource)));
      expect(twice).toEqual(once);
    }
  });
});
