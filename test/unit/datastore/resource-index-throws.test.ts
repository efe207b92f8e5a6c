/**
 * ResourceIndex when decoding or validating one value throws (whatever the model's own limits do
 * today): that key's error, its last valid version kept, every other event still applied.
 */
import { describe, expect, mock, test } from 'bun:test';
import * as layout from '../../../src/datastore/calico-layout.ts';

const realDecode = layout.decodeStored;
mock.module('../../../src/datastore/calico-layout.ts', () => ({
  ...layout,
  decodeStored: (kv: { key: string; value: string; modRevision: string }) => {
    if (kv.value.includes('THROW')) throw new RangeError('Maximum call stack size exceeded.');
    return realDecode(kv);
  },
}));
const { ResourceIndex } = await import('../../../src/datastore/etcd-source.ts');

const ROOT = '/calico/resources/v3/projectcalico.org';
const hepKV = (name: string, node: string, modRevision: string, extra = '') => ({
  key: `${ROOT}/hostendpoints/${name}`,
  value: JSON.stringify({ kind: 'HostEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name }, spec: { node, interfaceName: 'eth0' } }) + extra,
  createRevision: modRevision,
  modRevision,
  version: '1',
});
const nodes = (idx: InstanceType<typeof ResourceIndex>) =>
  Object.fromEntries(idx.resources().filter((r) => r.kind === 'HostEndpoint').map((r) => [r.metadata.name, (r.spec as { node?: string }).node]));

describe('ResourceIndex: a value whose decoding throws', () => {
  test('is that key\'s error; the other events of the same watch response are applied; the last valid version stays', () => {
    const errors: { source?: string; message: string }[] = [];
    const idx = new ResourceIndex((e) => errors.push(e));
    idx.put(hepKV('a', 'n1', '2'));
    const changed = idx.apply([
      { type: 'put', kv: hepKV('a', 'n1', '3', ' THROW'), prevKv: undefined },
      { type: 'put', kv: hepKV('b', 'n2', '3'), prevKv: undefined },
      { type: 'put', kv: hepKV('c', 'n3', '3', ' THROW'), prevKv: undefined },
    ]);
    expect(changed).toBe(true);
    expect(nodes(idx)).toEqual({ a: 'n1', b: 'n2' });
    expect(errors.map((e) => [e.source, e.message])).toEqual([
      [`${ROOT}/hostendpoints/a`, 'cannot be decoded: Maximum call stack size exceeded.'],
      [`${ROOT}/hostendpoints/c`, 'cannot be decoded: Maximum call stack size exceeded.'],
    ]);
    // The never-valid one is looked up in history like any invalid value.
    expect(idx.unenforced()).toEqual([{ key: `${ROOT}/hostendpoints/c`, modRevision: '3' }]);
    // A re-list at the same revisions does not read (or report) them again; history lookups never throw.
    expect(idx.replaceAll([hepKV('a', 'n1', '3', ' THROW'), hepKV('b', 'n2', '3'), hepKV('c', 'n3', '3', ' THROW')])).toBe(false);
    expect(errors).toHaveLength(2);
    expect(ResourceIndex.validStored(hepKV('c', 'n3', '3', ' THROW'))).toBeUndefined();
  });
});
