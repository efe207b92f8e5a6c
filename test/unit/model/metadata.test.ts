// Names per kind, labels and annotations, and how unknown fields are treated.
import { describe, expect, test } from 'bun:test';
import { expectError, gnp, isValid, resource, valid } from './helpers.ts';
import type { GlobalNetworkPolicy } from '../../../src/model/index.ts';

const long = (n: number) => 'a'.repeat(n);

describe('names', () => {
  // [kind, name, accepted]
  const cases: [string, string, boolean][] = [
    ['HostEndpoint', 'web1-eth0', true],
    ['HostEndpoint', 'web1.example.com', true],
    ['HostEndpoint', long(253), true],
    ['HostEndpoint', long(254), false],
    ['HostEndpoint', 'Web1', false],
    ['HostEndpoint', 'web_1', false],
    ['HostEndpoint', '-web', false],
    ['HostEndpoint', 'web.', false],
    ['Profile', 'projectcalico-default-allow', true],
    ['Profile', 'kns.default', true],
    ['Profile', 'UPPER', false],
    ['GlobalNetworkSet', 'test.set', true],
    ['GlobalNetworkSet', 'test$set', false],
    ['FelixConfiguration', 'default', true],
    ['FelixConfiguration', 'node.web1', true],
    ['FelixConfiguration', 'node.web1.example.com', true],
    ['FelixConfiguration', 'custom-group', true],
    ['FelixConfiguration', 'Node.web1', false],
    ['Tier', 'security', true],
    ['Tier', 'sec-ops', true],
    ['Tier', long(63), true],
    ['Tier', long(64), false],
    ['Tier', 'sec.ops', false],
    ['Tier', 'sec_ops', false],
    ['Tier', 'Security', false],
  ];
  const specFor: Record<string, Record<string, unknown>> = {
    HostEndpoint: { node: 'n', interfaceName: 'eth0' },
  };
  for (const [kind, name, ok] of cases) {
    test(`${kind} ${ok ? 'accepts' : 'rejects'} ${name.length > 20 ? `a ${name.length}-character name` : JSON.stringify(name)}`, () => {
      expect(isValid(resource(kind, name, specFor[kind] ?? {}))).toBe(ok);
    });
  }
  test('missing or empty name', () => {
    expectError({ apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: {} }, 'metadata.name', 'name is required');
    expectError(resource('Profile', ''), 'metadata.name', 'name is required');
    expectError({ apiVersion: 'projectcalico.org/v3', kind: 'Profile' }, 'metadata', 'metadata is required');
  });
  test('too-long names say by how much', () => expectError(resource('Tier', long(64)), 'metadata.name', 'name is 64 characters; at most 63'));
});

describe('labels', () => {
  const keys: [string, boolean][] = [
    ['role', true],
    ['projectcalico.org/label', true],
    ['projectcalico.org/Label', true],
    ['a.b-c_d', true],
    [`example.com/${long(63)}`, true],
    [`example.com/${long(64)}`, false],
    ['ProjectCalico.org/label', false],
    ['.mylabel', false],
    ['my!nvalid-label', false],
    ['my-invalid-label$', false],
    ['a/b/c', false],
    ['/name', false],
    ['prefix/', false],
  ];
  for (const [key, ok] of keys) {
    test(`label key ${JSON.stringify(key.length > 30 ? `${key.slice(0, 20)}…` : key)} ${ok ? 'accepted' : 'rejected'}`, () => {
      expect(isValid(gnp({}, 'p', { labels: { [key]: 'v' } }))).toBe(ok);
    });
  }
  const values: [string, boolean][] = [
    ['', true],
    ['web', true],
    ['v1.2_3-x', true],
    [long(63), true],
    [long(64), false],
    ['bad value', false],
    ['-x', false],
  ];
  for (const [value, ok] of values) {
    test(`label value ${JSON.stringify(value.length > 30 ? `${value.length} characters` : value)} ${ok ? 'accepted' : 'rejected'}`, () => {
      expect(isValid(gnp({}, 'p', { labels: { k: value } }))).toBe(ok);
    });
  }
  test('non-string values are rejected (YAML `version: 1`)', () => {
    expectError(gnp({}, 'p', { labels: { version: 1 } }), 'metadata.labels.version', 'label value must be a string');
  });
  test('Profile labelsToApply follows the label rules', () => {
    expect(isValid(resource('Profile', 'p', { labelsToApply: { 'project.calico.org/my-valid-label': long(63) } }))).toBe(true);
    expectError(resource('Profile', 'p', { labelsToApply: { k: long(64) } }), 'spec.labelsToApply.k', 'at most 63');
    expectError(resource('Profile', 'p', { labelsToApply: { '.mylabel': 'v' } }), 'spec.labelsToApply[".mylabel"]', 'invalid labelsToApply key');
  });
});

describe('annotations', () => {
  test('keys are qualified names, checked case-insensitively', () => {
    expect(isValid(gnp({}, 'p', { annotations: { 'ProjectCalico.org/Label': 'any value at all!' } }))).toBe(true);
    expectError(gnp({}, 'p', { annotations: { 'projectcalico.org$label': 'v' } }), 'metadata.annotations["projectcalico.org$label"]', 'invalid annotation key');
  });
  test('total size is limited to 256 KiB', () => {
    expect(isValid(gnp({}, 'p', { annotations: { k: 'x'.repeat(256 * 1024 - 1) } }))).toBe(true);
    expectError(gnp({}, 'p', { annotations: { k: 'x'.repeat(256 * 1024) } }), 'metadata.annotations', '256 KiB');
  });
});

describe('unknown fields', () => {
  // Before strict decoding, unknown spec and top-level fields were dropped silently (a typo
  // became allow-all or deny-all); now a manifest refuses them and etcd values notice them.
  test('every Kubernetes ObjectMeta field is accepted and kept', () => {
    const meta = {
      generateName: 'p-', namespace: '', selfLink: '/x', uid: 'u', resourceVersion: '7', generation: 3,
      creationTimestamp: '2026-01-01T00:00:00Z', deletionTimestamp: '2026-01-02T00:00:00Z', deletionGracePeriodSeconds: 30,
      labels: { a: 'b' }, annotations: { c: 'd' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'n', uid: 'u2', controller: true, blockOwnerDeletion: false }],
      finalizers: ['x'],
      managedFields: [{ manager: 'm', operation: 'Apply', apiVersion: 'v1', time: 't', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} }, subresource: '' }],
    };
    const p = valid(gnp({ selector: 'all()' }, 'p', meta)) as GlobalNetworkPolicy;
    expect(p.metadata).toEqual({ name: 'p', ...meta });
  });
  test('unknown spec, top-level and metadata fields are refused in a manifest', () => {
    expectError(gnp({ selector: 'all()', futureField: true }), 'spec.futureField', 'unknown field');
    expectError({ ...gnp({}), status: { x: 1 } }, 'status', 'unknown field');
    expectError(gnp({}, 'p', { lables: { a: 'b' } }), 'metadata.lables', 'unknown field; did you mean `labels`?');
  });
  test('null fields count as absent (Go JSON semantics)', () => {
    const p = valid({
      ...gnp({ ingress: null, selector: null }, 'p', { labels: null, creationTimestamp: null }),
    }) as GlobalNetworkPolicy;
    expect(p.metadata).toEqual({ name: 'p' });
    expect(p.spec).toEqual({ tier: 'default', types: ['Ingress'] });
  });
});
