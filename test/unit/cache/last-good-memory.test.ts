/** Local mode's record of each file's last valid resources, over a real SQLite file. */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DB_FILE, SnapshotCache } from '../../../src/cache/snapshot-cache.ts';
import { lastGoodMemory } from '../../../src/cache/last-good-memory.ts';
import { validateResource, type Resource } from '../../../src/model/index.ts';
import { FileResourceSource } from '../../../src/datastore/file-source.ts';
import { writeFileSync, mkdirSync } from 'node:fs';

let dir: string;
let logs: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-lastgood-'));
  logs = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const hep = (name: string): Resource => {
  const r = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name }, spec: { node: 'gw', interfaceName: 'eth1' } });
  if (!r.ok) throw new Error('fixture');
  return r.resource;
};

/** Saves `names` for /r/a.yaml, then overwrites rows behind the memory's back (key → SQL value). */
function savedThenTampered(names: string[], rows: Record<string, string>) {
  const cache = SnapshotCache.open(dir);
  const mem = lastGoodMemory(cache, (m) => logs.push(m));
  mem.save('/r/a.yaml', new Map(names.map((n) => [`HostEndpoint/${n}`, hep(n)])));
  const raw = new Database(join(dir, DB_FILE));
  for (const [key, value] of Object.entries(rows)) raw.run(`UPDATE last_good SET resource = ? WHERE key = ?`, [value, key]);
  raw.close();
  return { cache, mem };
}

describe('last valid resources in the state dir', () => {
  test('survive a reopen; retain() forgets files that are gone', () => {
    let cache = SnapshotCache.open(dir);
    let mem = lastGoodMemory(cache, (m) => logs.push(m));
    mem.save('/r/a.yaml', new Map([['HostEndpoint/a', hep('a')]]));
    mem.save('/r/b.yaml', new Map([['HostEndpoint/b', hep('b')]]));
    cache.close();
    cache = SnapshotCache.open(dir);
    mem = lastGoodMemory(cache, (m) => logs.push(m));
    expect([...mem.load().keys()].sort()).toEqual(['/r/a.yaml', '/r/b.yaml']);
    expect(mem.load().get('/r/a.yaml')?.get('HostEndpoint/a')).toEqual(hep('a'));
    mem.retain(new Set(['/r/b.yaml']));
    expect([...mem.load().keys()]).toEqual(['/r/b.yaml']);
    cache.close();
  });

  test('a damaged or no longer valid row is dropped and logged, never trusted', () => {
    const { cache, mem } = savedThenTampered(['a', 'x'], {
      'HostEndpoint/a': '{not json',
      'HostEndpoint/x': '{"kind":"HostEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"x"},"spec":{"node":"NOT A NAME","interfaceName":"eth1"}}',
    });
    expect(mem.load().get('/r/a.yaml')?.size).toBe(0);
    expect(logs.join('\n')).toContain('HostEndpoint/a (/r/a.yaml) is not JSON');
    expect(logs.join('\n')).toContain('HostEndpoint/x (/r/a.yaml) no longer validates');
    cache.close();
  });

  test('rows are validated when first used, not when loaded; a row stored under another key is dropped', () => {
    const { cache, mem } = savedThenTampered(['a', 'y'], {
      'HostEndpoint/a': '{not json',
      // Valid on its own, but recorded under another resource's key: a swapped row.
      'HostEndpoint/y': JSON.stringify(hep('z')),
    });
    const loaded = mem.load();
    const a = loaded.get('/r/a.yaml')!;
    expect(logs).toEqual([]);
    expect(a.get('HostEndpoint/a')).toBeUndefined();
    expect(a.get('HostEndpoint/y')).toBeUndefined();
    expect([...a]).toEqual([]);
    expect(logs.join('\n')).toContain('HostEndpoint/y (/r/a.yaml) no longer validates; dropped (it is HostEndpoint/z)');
    expect(logs).toHaveLength(2);
    cache.close();
  });

  test('through the folder datastore: a tampered row never stands in for a broken file; a readable file needs no row', async () => {
    const res = join(dir, 'res');
    mkdirSync(res);
    const file = join(res, 'a.yaml');
    const yaml = (name: string) => `apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: ${name}}\nspec: {node: gw, interfaceName: eth1}\n`;
    const state = join(dir, 'state');
    let cache = SnapshotCache.open(state);
    lastGoodMemory(cache, () => undefined).save(file, new Map([['HostEndpoint/a', hep('a')], ['HostEndpoint/b', hep('b')]]));
    cache.close();
    const raw = new Database(join(state, DB_FILE));
    raw.run(`UPDATE last_good SET resource = '{"kind":"HostEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"b"},"spec":{"node":"gw","interfaceName":"eth1","expectedIPs":["not an ip"]}}' WHERE key = 'HostEndpoint/b'`);
    raw.close();

    // The file is broken now: its remembered resources stand in, minus the tampered one.
    writeFileSync(file, 'kind: [unclosed');
    cache = SnapshotCache.open(state);
    let source = new FileResourceSource([res], lastGoodMemory(cache, (m) => logs.push(m)));
    await source.load();
    expect(source.current().map((r) => r.metadata.name)).toEqual(['a']);
    expect(logs.join('\n')).toContain('HostEndpoint/b');
    cache.close();

    // The file is fine: what it holds is in force, and the stored rows were never needed.
    logs = [];
    writeFileSync(file, yaml('c'));
    cache = SnapshotCache.open(state);
    const raw2 = new Database(join(state, DB_FILE));
    raw2.run(`UPDATE last_good SET resource = '{not json'`);
    raw2.close();
    source = new FileResourceSource([res], lastGoodMemory(cache, (m) => logs.push(m)));
    await source.load();
    expect(source.current().map((r) => r.metadata.name)).toEqual(['c']);
    expect(logs).toEqual([]);
    cache.close();
  });
});
