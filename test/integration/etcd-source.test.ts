/**
 * EtcdSource against a real etcd: resources written in Calico's layout with etcdctl are read,
 * changes arrive through the watch, bad values keep the last good version, and neither an etcd
 * restart nor a compaction during a disconnection loses an update or a delete.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { EtcdClient } from '../../src/etcd/client.ts';
import { EtcdSource } from '../../src/datastore/etcd-source.ts';
import type { DatastoreState } from '../../src/datastore/source.ts';
import type { Resource } from '../../src/model/resource.ts';
import { startEtcd, type LabEtcd } from '../lab/etcd.ts';
import pino from 'pino';

const ROOT = '/calico/resources/v3/projectcalico.org';
const T = 30_000;

const hep = (name: string, node: string, extra: object = {}) =>
  JSON.stringify({ kind: 'HostEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name, ...extra }, spec: { node, interfaceName: 'eth0' } });

class Recorder {
  states: DatastoreState[] = [];
  errors: string[] = [];
  readonly listener = {
    onState: (s: DatastoreState) => void this.states.push(s),
    onError: (m: string) => void this.errors.push(m),
  };
  get last(): DatastoreState {
    const s = this.states.at(-1);
    if (!s) throw new Error('no state yet');
    return s;
  }
  find(kind: string, name: string): Resource | undefined {
    return this.last.resources.find((r) => r.kind === kind && r.metadata.name === name);
  }
  names(kind: string): string[] {
    return this.last.resources.filter((r) => r.kind === kind).map((r) => r.metadata.name);
  }
  async until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      try {
        if (cond()) return;
      } catch {
        // no state yet
      }
      await Bun.sleep(20);
    }
    throw new Error(`timed out waiting for ${what}; states: ${this.states.length}, errors:\n${this.errors.join('\n')}`);
  }
}

/** A fetch that can be cut off, as if the network to etcd were down. */
function gatedFetch() {
  let open = true;
  const active = new Set<AbortController>();
  const paths: string[] = [];
  const fn = (async (input: string | URL | Request, init?: RequestInit) => {
    paths.push(new URL(String(input)).pathname);
    if (!open) throw Object.assign(new TypeError('ECONNREFUSED: gate closed'), { code: 'ECONNREFUSED' });
    const ac = new AbortController();
    active.add(ac);
    const signal = init?.signal ? AbortSignal.any([init.signal, ac.signal]) : ac.signal;
    return fetch(input, { ...init, signal } as RequestInit);
  }) as typeof fetch;
  return {
    fetch: fn,
    paths,
    close() {
      open = false;
      for (const ac of active) ac.abort(new Error('connection cut'));
      active.clear();
    },
    open() {
      open = true;
    },
  };
}

let etcd: LabEtcd;
let source: EtcdSource | undefined;
beforeEach(async () => {
  etcd = await startEtcd();
});
afterEach(async () => {
  await source?.stop();
  source = undefined;
  await etcd.destroy();
});

const fastSource = (extra: Partial<ConstructorParameters<typeof EtcdSource>[0]> = {}) =>
  new EtcdSource({ endpoints: [etcd.url], backoffMs: { initial: 50, max: 300 }, livenessMs: 500, pageSize: 2, ...extra });

describe('EtcdSource with a real etcd', () => {
  test('lists, then sees create, modify and delete through the watch, at etcd revisions', async () => {
    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/h1`, hep('h1', 'n1')]);
    await etcd.etcdctl(['put', `${ROOT}/networkpolicies/ns/np1`, '{"not":"ours"}']);
    const rec = new Recorder();
    source = fastSource();
    await source.start(rec.listener);
    expect(rec.names('HostEndpoint')).toEqual(['h1']);
    expect(rec.names('Profile')).toEqual(['projectcalico-default-allow']);
    expect(rec.last.revision).toBe(await etcd.revision());
    expect(rec.find('HostEndpoint', 'h1')?.metadata.resourceVersion).toBe('2');

    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/h2`, hep('h2', 'n2')]);
    await rec.until('h2', () => rec.names('HostEndpoint').includes('h2'));
    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/h1`, hep('h1', 'n9')]);
    await rec.until('h1 modified', () => (rec.find('HostEndpoint', 'h1') as { spec: { node?: string } } | undefined)?.spec.node === 'n9');
    await etcd.etcdctl(['del', `${ROOT}/hostendpoints/h2`]);
    await rec.until('h2 deleted', () => !rec.names('HostEndpoint').includes('h2'));
    expect(rec.last.revision).toBe(await etcd.revision());

    // Changes outside outpost's kinds never produce a state.
    const before = rec.states.length;
    await etcd.etcdctl(['put', `${ROOT}/networkpolicies/ns/np2`, '{}']);
    await etcd.etcdctl(['put', `${ROOT}/ippools/pool1`, '{}']);
    await etcd.etcdctl(['put', `${ROOT}/nodes/n1`, '{}']);
    await Bun.sleep(300);
    expect(rec.states.length).toBe(before);
    expect(rec.errors).toEqual([]);
  }, T);

  test('reads policies in both layouts: ≥3.32 plain keys and ≤3.31 default.-prefixed keys', async () => {
    const gnp = (name: string, meta: object, spec: object = {}) =>
      JSON.stringify({ kind: 'GlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3', metadata: { name, ...meta }, spec: { selector: 'all()', ...spec } });
    await etcd.etcdctl(['put', `${ROOT}/globalnetworkpolicies/new-style`, gnp('new-style', { annotations: { 'projectcalico.org/metadata': '{"name":"new-style"}' }, labels: { 'projectcalico.org/tier': 'default' } }, { tier: 'default', types: ['Ingress'] })]);
    await etcd.etcdctl(['put', `${ROOT}/globalnetworkpolicies/default.annotated`, gnp('default.annotated', { annotations: { 'projectcalico.org/metadata': '{"name":"annotated"}' } })]);
    await etcd.etcdctl(['put', `${ROOT}/globalnetworkpolicies/default.bare`, gnp('default.bare', {}, { egress: [{ action: 'Allow' }] })]);
    await etcd.etcdctl(['put', `${ROOT}/globalnetworkpolicies/net.in-tier`, gnp('net.in-tier', { labels: { 'projectcalico.org/tier': 'net' } }, { tier: 'net' })]);
    const rec = new Recorder();
    source = fastSource();
    await source.start(rec.listener);
    expect(rec.names('GlobalNetworkPolicy').sort()).toEqual(['annotated', 'bare', 'net.in-tier', 'new-style']);
    const bare = rec.find('GlobalNetworkPolicy', 'bare') as { metadata: { labels?: object; annotations?: object }; spec: { tier: string; types: string[] } };
    // A stored policy is taken as stored: no `types` means both directions (Felix does no
    // defaulting on read; only the client defaults before it writes).
    expect(bare.spec).toMatchObject({ tier: 'default' });
    expect(bare.spec.types).toBeUndefined();
    expect(bare.metadata.labels).toEqual({ 'projectcalico.org/tier': 'default' });
    const annotated = rec.find('GlobalNetworkPolicy', 'annotated') as { metadata: { annotations?: object } };
    expect(annotated.metadata.annotations).toBeUndefined();
    expect(rec.errors).toEqual([]);
  }, T);

  test('an invalid value is reported with its key and field, and the last valid version stays', async () => {
    const key = `${ROOT}/hostendpoints/h1`;
    await etcd.etcdctl(['put', key, hep('h1', 'n1')]);
    const rec = new Recorder();
    source = fastSource();
    await source.start(rec.listener);
    const firstStates = rec.states.length;

    await etcd.etcdctl(['put', key, '{"kind": "HostEndpoint", not json']);
    await rec.until('JSON error', () => rec.errors.some((e) => e.includes(key) && e.includes('not valid JSON')));
    await etcd.etcdctl(['put', key, JSON.stringify({ kind: 'HostEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name: 'h1' }, spec: { node: 'n1', interfaceName: 'eth0', expectedIPs: ['10.0.0.0/24'] } })]);
    await rec.until('field error', () => rec.errors.some((e) => e.includes(key) && e.includes('spec.expectedIPs[0]')));
    expect(rec.states.length).toBe(firstStates);
    expect((rec.find('HostEndpoint', 'h1') as { spec: { node: string } }).spec.node).toBe('n1');

    // A never-valid resource is simply absent; fixing it brings it in.
    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/h2`, '[]']);
    await etcd.etcdctl(['put', key, hep('h1', 'n3')]);
    await rec.until('h1 fixed', () => (rec.find('HostEndpoint', 'h1') as { spec: { node: string } }).spec.node === 'n3');
    expect(rec.names('HostEndpoint')).toEqual(['h1']);
  }, T);

  test('a relay (re)started on an invalid value finds its last valid version in etcd history; never-valid and compacted ones are reported', async () => {
    const key = `${ROOT}/hostendpoints/h1`;
    await etcd.etcdctl(['put', key, hep('h1', 'n1')]);
    await etcd.etcdctl(['put', key, JSON.stringify({ kind: 'HostEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name: 'h1' }, spec: { node: 'N_1', interfaceName: 'eth0' } })]);
    await etcd.etcdctl(['put', key, '{"kind": "HostEndpoint", not json']);
    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/h2`, JSON.stringify({ kind: 'HostEndpoint', apiVersion: 'projectcalico.org/v3', metadata: { name: 'h2' }, spec: {} })]);
    const lines: string[] = [];
    const log = pino({ level: 'debug', base: null }, { write: (l: string) => void lines.push(l) });
    const rec = new Recorder();
    source = fastSource({ log });
    await source.start(rec.listener);
    expect((rec.find('HostEndpoint', 'h1') as { spec: { node: string } } | undefined)?.spec.node).toBe('n1');
    expect(rec.names('HostEndpoint')).toEqual(['h1']);
    expect(lines.join('')).toContain('its last valid version (revision 2, from etcd history) stays in force');
    expect(lines.join('')).toContain(`NOT ENFORCED: ${ROOT}/hostendpoints/h2 is invalid and it was never valid`);
    await source.stop();

    // Once history is compacted past the valid version, a new relay cannot know it: said loudly.
    await etcd.compact(await etcd.revision());
    const rec2 = new Recorder();
    lines.length = 0;
    source = fastSource({ log });
    await source.start(rec2.listener);
    expect(rec2.names('HostEndpoint')).toEqual([]);
    expect(lines.join('')).toContain(`NOT ENFORCED: ${key} is invalid and etcd history is compacted`);
  }, T);

  test('etcd stopped and restarted during the watch: changes after the restart arrive', async () => {
    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/h1`, hep('h1', 'n1')]);
    const rec = new Recorder();
    source = fastSource();
    await source.start(rec.listener);

    await etcd.stop();
    await rec.until('an unavailability report', () => rec.errors.some((e) => e.includes('last state read stays in force')));
    expect(rec.names('HostEndpoint')).toEqual(['h1']);
    await etcd.restart();
    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/h2`, hep('h2', 'n2')]);
    await etcd.etcdctl(['del', `${ROOT}/hostendpoints/h1`]);
    await rec.until('both changes', () => rec.names('HostEndpoint').join() === 'h2');
    expect(rec.last.revision).toBe(await etcd.revision());
  }, T);

  test('compaction while disconnected: re-list finds every update and every delete', async () => {
    for (const n of ['a', 'b', 'c']) await etcd.etcdctl(['put', `${ROOT}/hostendpoints/${n}`, hep(n, 'n1')]);
    const gate = gatedFetch();
    const rec = new Recorder();
    source = fastSource({ client: new EtcdClient({ endpoints: [etcd.url], fetch: gate.fetch, timeoutMs: 1000 }) });
    await source.start(rec.listener);
    const seenRevision = rec.last.revision;

    gate.close();
    await rec.until('the cut noticed', () => rec.errors.length > 0);
    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/b`, hep('b', 'n2')]);
    await etcd.etcdctl(['del', `${ROOT}/hostendpoints/c`]);
    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/d`, hep('d', 'n1')]);
    await etcd.etcdctl(['del', `${ROOT}/hostendpoints/d`]);
    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/e`, hep('e', 'n1')]);
    const now = await etcd.revision();
    await etcd.compact(now);
    expect(BigInt(now)).toBeGreaterThan(BigInt(seenRevision) + 1n);

    const before = gate.paths.length;
    gate.open();
    await rec.until('the gap filled', () => rec.names('HostEndpoint').join() === 'a,b,e');
    expect((rec.find('HostEndpoint', 'b') as { spec: { node: string } }).spec.node).toBe('n2');
    expect(rec.last.revision).toBe(now);
    // It got there by being told of the compaction and listing again, not by luck.
    const after = gate.paths.slice(before);
    expect(after.indexOf('/v3/kv/range')).toBeGreaterThan(after.indexOf('/v3/watch'));

    // And the watch works again after the re-list.
    await etcd.etcdctl(['put', `${ROOT}/hostendpoints/f`, hep('f', 'n1')]);
    await rec.until('f', () => rec.names('HostEndpoint').includes('f'));
  }, T);

  test('an etcd whose revision went backwards (restored, or another cluster) is read again', async () => {
    for (const n of ['a', 'b', 'c', 'd']) await etcd.etcdctl(['put', `${ROOT}/hostendpoints/${n}`, hep(n, 'n1')]);
    const other = await startEtcd();
    try {
      await other.etcdctl(['put', `${ROOT}/hostendpoints/z`, hep('z', 'n1')]);
      let target = etcd.url;
      const gate = gatedFetch();
      const redirect = ((input: string | URL | Request, init?: RequestInit) =>
        gate.fetch(String(input).replace(/^http:\/\/127\.0\.0\.1:\d+/, target), init)) as typeof fetch;
      const rec = new Recorder();
      source = fastSource({ client: new EtcdClient({ endpoints: [etcd.url], fetch: redirect, timeoutMs: 1000 }) });
      await source.start(rec.listener);
      expect(rec.names('HostEndpoint')).toEqual(['a', 'b', 'c', 'd']);

      target = other.url;
      gate.close();
      gate.open();
      await rec.until('the other cluster read', () => rec.names('HostEndpoint').join() === 'z');
      expect(rec.errors.some((e) => e.includes('behind the'))).toBe(true);
      expect(rec.last.revision).toBe(await other.revision());
    } finally {
      await source?.stop();
      source = undefined;
      await other.destroy();
    }
  }, T);

  test('start() gives up when etcd was never readable', async () => {
    const url = etcd.url;
    await etcd.stop();
    const rec = new Recorder();
    const s = new EtcdSource({ endpoints: [url], startTimeoutMs: 500, backoffMs: { initial: 50, max: 100 } });
    await expect(s.start(rec.listener)).rejects.toThrow(/etcd never readable/);
    await s.stop();
    expect(rec.states).toEqual([]);
    // stop() while still trying ends start() too, instead of leaving it pending.
    const t = new EtcdSource({ endpoints: [url], backoffMs: { initial: 50, max: 100 } });
    const started = t.start(new Recorder().listener);
    await Bun.sleep(100);
    await t.stop();
    await expect(started).rejects.toThrow(/stopped before/);
  }, T);
});
