/**
 * Resources held back as invalid: each datastore source keeps the CURRENT set (added when a
 * stored value is invalid, removed when it is fixed or deleted), with whether its last valid
 * version stays in force.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceIndex } from '../../../src/datastore/etcd-source.ts';
import { FileResourceSource } from '../../../src/datastore/file-source.ts';
import { HeldBackChanges, heldBackReason } from '../../../src/datastore/held-back-list.ts';
import type { HeldBackItem } from '../../../src/protocol/held-back.ts';

const ROOT = '/calico/resources/v3/projectcalico.org';
const kv = (key: string, value: unknown, modRevision: string) => ({ key: `${ROOT}/${key}`, value: typeof value === 'string' ? value : JSON.stringify(value), createRevision: modRevision, modRevision, version: '1' });
const gnp = (name: string, action = 'Allow') => ({ kind: 'GlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3', metadata: { name }, spec: { selector: 'all()', ingress: [{ action }] } });
const wep = (name: string, nets: string[]) => ({ kind: 'WorkloadEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name, namespace: 'ns1' }, spec: { node: 'n1', orchestrator: 'k8s', workload: 'w', endpoint: 'eth0', interfaceName: 'cali1', ipNetworks: nets } });

describe('ResourceIndex held back', () => {
  test('an invalid value is held back (nothing in force); fixing it removes it', () => {
    const idx = new ResourceIndex(() => {});
    idx.put(kv('globalnetworkpolicies/p1', gnp('p1', 'Maybe'), '5'));
    const held = idx.heldBack();
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ kind: 'GlobalNetworkPolicy', name: 'p1', source: `${ROOT}/globalnetworkpolicies/p1`, lastValidInForce: false });
    expect(held[0]!.reason).toContain('spec.ingress[0].action');
    idx.put(kv('globalnetworkpolicies/p1', gnp('p1'), '6'));
    expect(idx.heldBack()).toEqual([]);
  });

  test('valid then invalid: held back with its last valid version in force; deleting it removes it', () => {
    const idx = new ResourceIndex(() => {});
    idx.put(kv('globalnetworkpolicies/p1', gnp('p1'), '5'));
    idx.put(kv('globalnetworkpolicies/p1', gnp('p1', 'Nope'), '6'));
    expect(idx.heldBack()).toMatchObject([{ name: 'p1', lastValidInForce: true }]);
    idx.delete(`${ROOT}/globalnetworkpolicies/p1`);
    expect(idx.heldBack()).toEqual([]);
  });

  test('a WorkloadEndpoint is never kept in its last valid version; undecodable JSON is held back too', () => {
    const idx = new ResourceIndex(() => {});
    idx.put(kv('workloadendpoints/ns1/w1', wep('w1', ['10.0.0.1/32']), '5'));
    idx.put(kv('workloadendpoints/ns1/w1', wep('w1', ['not-an-ip']), '6'));
    idx.put(kv('globalnetworkpolicies/junk', '{"kind": ', '7'));
    const held = idx.heldBack();
    expect(held.map((h) => [h.kind, h.name, h.lastValidInForce])).toEqual([
      ['GlobalNetworkPolicy', 'junk', false],
      ['WorkloadEndpoint', 'ns1/w1', false],
    ]);
  });

  test('a re-list that no longer holds the key removes it; an unchanged invalid one stays', () => {
    const idx = new ResourceIndex(() => {});
    const bad1 = kv('globalnetworkpolicies/a', gnp('a', 'X'), '3');
    const bad2 = kv('globalnetworkpolicies/b', gnp('b', 'X'), '4');
    idx.replaceAll([bad1, bad2]);
    expect(idx.heldBack().map((h) => h.name)).toEqual(['a', 'b']);
    idx.replaceAll([bad2]);
    expect(idx.heldBack().map((h) => h.name)).toEqual(['b']);
  });
});

describe('FileResourceSource held back', () => {
  let dir: string;
  let tick = 2_000_000;
  const write = async (path: string, text: string) => {
    await writeFile(path, text);
    tick += 10;
    await utimes(path, tick, tick);
  };
  const yaml = (name: string, action = 'Allow') => `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: ${name}}\nspec: {selector: all(), ingress: [{action: ${action}}]}\n`;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-held-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('added when invalid, kept-version flag follows history, removed when fixed, the file deleted', async () => {
    const f = join(dir, 'p.yaml');
    await write(f, [yaml('a'), yaml('b', 'Bogus')].join('---\n'));
    const src = new FileResourceSource([dir]);
    await src.load();
    expect(src.heldBack()).toMatchObject([{ kind: 'GlobalNetworkPolicy', name: 'b', source: f, lastValidInForce: false }]);
    await write(f, [yaml('a', 'Bogus'), yaml('b')].join('---\n'));
    await src.load();
    expect(src.heldBack()).toMatchObject([{ name: 'a', lastValidInForce: true }]);
    await write(f, [yaml('a'), yaml('b')].join('---\n'));
    await src.load();
    expect(src.heldBack()).toEqual([]);
    await write(f, yaml('c', 'Bogus'));
    await src.load();
    expect(src.heldBack().map((h) => h.name)).toEqual(['c']);
    await unlink(f);
    await src.load();
    expect(src.heldBack()).toEqual([]);
  });

  test('a file that is not YAML is held back as a file; its previous resources stay in force', async () => {
    const f = join(dir, 'p.yaml');
    await write(f, yaml('a'));
    const src = new FileResourceSource([dir]);
    await src.load();
    await write(f, 'kind: [unclosed\n  : :');
    await src.load();
    expect(src.heldBack()).toMatchObject([{ kind: 'file', name: f, source: f, lastValidInForce: true }]);
    expect(src.current().map((r) => r.metadata.name)).toEqual(['a']);
  });
});

describe('HeldBackChanges', () => {
  test('delivers the first set and then only changes', () => {
    const got: (readonly HeldBackItem[])[] = [];
    const c = new HeldBackChanges((i) => got.push(i));
    const item = (name: string, reason = 'r'): HeldBackItem => ({ kind: 'K', name, source: 's', reason, lastValidInForce: false });
    c.offer([]);
    c.offer([]);
    c.offer([item('b'), item('a')]);
    c.offer([item('a'), item('b')]);
    c.offer([item('a'), item('b', 'other')]);
    expect(got.map((g) => g.map((i) => `${i.name}:${i.reason}`))).toEqual([[], ['a:r', 'b:r'], ['a:r', 'b:other']]);
  });

  test('a reason is capped and says where each problem is', () => {
    expect(heldBackReason([{ path: 'spec.x', message: 'bad' }, { path: '', message: 'worse' }])).toBe('spec.x: bad; worse');
    expect(heldBackReason([{ path: '', message: 'y'.repeat(5000) }]).length).toBe(1000);
  });
});
