/** ResourceIndex reads etcd values leniently: unknown fields are ignored and reported once per key and field. */
import { expect, test } from 'bun:test';
import { ResourceIndex } from '../../../src/datastore/etcd-source.ts';
import { formatResourceError, type ResourceError } from '../../../src/model/validate.ts';

const ROOT = '/calico/resources/v3/projectcalico.org';
const kv = (name: string, spec: Record<string, unknown>, modRevision: string, kind = 'GlobalNetworkPolicy', plural = 'globalnetworkpolicies') => ({
  key: `${ROOT}/${plural}/${name}`,
  value: JSON.stringify({ kind, apiVersion: 'projectcalico.org/v3', metadata: { name }, spec }),
  createRevision: modRevision,
  modRevision,
  version: '1',
});

function index() {
  const errors: ResourceError[] = [];
  const warnings: string[] = [];
  const idx = new ResourceIndex((e) => errors.push(e), (w) => warnings.push(formatResourceError(w)));
  return { idx, errors, warnings };
}

test('an unknown stored field is ignored: the resource is in force and the field is reported once', () => {
  const { idx, errors, warnings } = index();
  expect(idx.put(kv('p', { selector: 'all()', futureField: 1 }, '5'))).toBe(true);
  expect(errors).toEqual([]);
  expect(idx.resources().map((r) => r.metadata.name)).toContain('p');
  expect(warnings).toEqual([`${ROOT}/globalnetworkpolicies/p: GlobalNetworkPolicy 'p': spec.futureField: unknown field ignored`]);

  // A re-list at a newer revision (the same value) and an edit that keeps the field: not again.
  idx.replaceAll([kv('p', { selector: 'all()', futureField: 1 }, '6')]);
  idx.put(kv('p', { selector: "a == 'b'", futureField: 2 }, '7'));
  expect(warnings).toHaveLength(1);

  // A new unknown field on the same key is reported.
  idx.put(kv('p', { selector: 'all()', futureField: 1, otherField: true }, '8'));
  expect(warnings).toHaveLength(2);
  expect(warnings[1]).toContain('spec.otherField: unknown field ignored');
});

test('a stored policy keeps empty types (Felix: both directions)', () => {
  const { idx } = index();
  idx.put(kv('p', { selector: 'all()', types: [], ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] }, '5'));
  const p = idx.resources().find((r) => r.metadata.name === 'p');
  expect(p?.kind === 'GlobalNetworkPolicy' && p.spec.types).toEqual([]);
});

test('FelixConfiguration fields outpost does not implement are reported once', () => {
  const { idx, warnings } = index();
  idx.put(kv('default', { bpfEnabled: false, nftablesMode: 'Auto' }, '5', 'FelixConfiguration', 'felixconfigurations'));
  idx.replaceAll([kv('default', { bpfEnabled: false, nftablesMode: 'Auto' }, '6', 'FelixConfiguration', 'felixconfigurations')]);
  expect(warnings).toEqual([
    `${ROOT}/felixconfigurations/default: FelixConfiguration 'default': spec.nftablesMode: not implemented by outpost; it has no effect`,
    `${ROOT}/felixconfigurations/default: FelixConfiguration 'default': spec.bpfEnabled: not implemented by outpost; it has no effect`,
  ]);
});

test('a value whose metadata.name differs from its key is in force under the key\'s name, and that is reported once', () => {
  const { idx, warnings } = index();
  const k = { ...kv('real', { selector: 'all()' }, '5'), value: JSON.stringify({ kind: 'GlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3', metadata: { name: 'impostor' }, spec: { selector: 'all()' } }) };
  idx.put(k);
  idx.replaceAll([{ ...k, modRevision: '6' }]);
  const names = idx.resources().filter((r) => r.kind === 'GlobalNetworkPolicy').map((r) => r.metadata.name);
  expect(names).toEqual(['real']);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain('impostor');
});
