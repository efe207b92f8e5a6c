/**
 * EtcdSource against a real etcd when one value cannot be processed: a value whose decoding
 * throws (simulated, whatever the model's own limits do today) and one nested 200k deep are
 * that key's error; the watch moves on and later changes still arrive.
 */
import { afterEach, beforeEach, expect, mock, test } from 'bun:test';
import * as layout from '../../src/datastore/calico-layout.ts';
import type { DatastoreState } from '../../src/datastore/source.ts';
import { startEtcd, type LabEtcd } from '../lab/etcd.ts';

const realDecode = layout.decodeStored;
mock.module('../../src/datastore/calico-layout.ts', () => ({
  ...layout,
  decodeStored: (kv: { key: string; value: string; modRevision: string }) => {
    if (kv.value.includes('THROW')) throw new RangeError('Maximum call stack size exceeded.');
    return realDecode(kv);
  },
}));
const { EtcdSource } = await import('../../src/datastore/etcd-source.ts');

const ROOT = '/calico/resources/v3/projectcalico.org';
const hep = (name: string, node: string, extra = '') =>
  JSON.stringify({ kind: 'HostEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name }, spec: { node, interfaceName: 'eth0' } }) + extra;

let etcd: LabEtcd;
let source: InstanceType<typeof EtcdSource> | undefined;
beforeEach(async () => {
  etcd = await startEtcd();
});
afterEach(async () => {
  await source?.stop();
  source = undefined;
  await etcd.destroy();
});

test('a value that throws, then one nested 200k deep: each is its key\'s error, and later changes still arrive', async () => {
  await etcd.etcdctl(['put', `${ROOT}/hostendpoints/a`, hep('a', 'n1')]);
  const states: DatastoreState[] = [];
  const errors: string[] = [];
  source = new EtcdSource({ endpoints: [etcd.url], backoffMs: { initial: 50, max: 300 }, livenessMs: 500 });
  await source.start({ onState: (s) => void states.push(s), onError: (m) => void errors.push(m) });
  const nodeOf = (name: string) => (states.at(-1)?.resources.find((r) => r.kind === 'HostEndpoint' && r.metadata.name === name)?.spec as { node?: string } | undefined)?.node;
  const until = async (what: string, cond: () => boolean) => {
    const end = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; errors:\n${errors.join('\n').slice(0, 3000)}`);
      await Bun.sleep(20);
    }
  };

  await etcd.etcdctl(['put', `${ROOT}/hostendpoints/a`, hep('a', 'n9', ' THROW')]);
  await etcd.etcdctl(['put', `${ROOT}/hostendpoints/b`, hep('b', 'n2')]);
  await until('b', () => nodeOf('b') === 'n2');
  expect(nodeOf('a')).toBe('n1'); // the last valid version stays
  expect(errors.filter((e) => e.includes('hostendpoints/a'))).toEqual([expect.stringContaining('cannot be decoded: Maximum call stack size exceeded.')]);

  const deep = `{"kind":"HostEndpoint","metadata":{"name":"c"},"spec":{"node":"n3","interfaceName":"eth0","x":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`;
  await etcd.etcdctl(['put', `${ROOT}/hostendpoints/c`], { input: deep });
  await etcd.etcdctl(['put', `${ROOT}/hostendpoints/d`, hep('d', 'n4')]);
  await until('d', () => nodeOf('d') === 'n4');
  expect(nodeOf('c')).toBeUndefined();
  expect(errors.some((e) => e.includes('hostendpoints/c'))).toBe(true);
  // Each bad value was reported once, not retried in a loop.
  expect(errors.filter((e) => e.includes('hostendpoints/a')).length).toBe(1);
}, 30_000);
