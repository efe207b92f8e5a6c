/** Local mode's record of each file's last valid resources, over a real SQLite file. */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DB_FILE, SnapshotCache } from '../../../src/cache/snapshot-cache.ts';
import { lastGoodMemory } from '../../../src/cache/last-good-memory.ts';
import { validateResource, type Resource } from '../../../src/model/index.ts';

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
    const cache = SnapshotCache.open(dir);
    const mem = lastGoodMemory(cache, (m) => logs.push(m));
    mem.save('/r/a.yaml', new Map([['HostEndpoint/a', hep('a')], ['HostEndpoint/x', hep('x')]]));
    const raw = new Database(join(dir, DB_FILE));
    raw.run(`UPDATE last_good SET resource = '{not json' WHERE key = 'HostEndpoint/a'`);
    raw.run(`UPDATE last_good SET resource = '{"kind":"HostEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"x"},"spec":{"node":"NOT A NAME","interfaceName":"eth1"}}' WHERE key = 'HostEndpoint/x'`);
    raw.close();
    expect(mem.load().get('/r/a.yaml')?.size).toBe(0);
    expect(logs.join('\n')).toContain('HostEndpoint/a (/r/a.yaml) is not JSON');
    expect(logs.join('\n')).toContain('HostEndpoint/x (/r/a.yaml) no longer validates');
    cache.close();
  });
});
