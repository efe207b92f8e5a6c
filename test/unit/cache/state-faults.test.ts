/** SnapshotCache and faults of the place it lives in: nothing is moved aside that is not broken, reads survive a read-only dir. */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DB_FILE, SnapshotCache, SnapshotCacheError } from '../../../src/cache/snapshot-cache.ts';

let dir: string;
let logs: string[];
const open = () => SnapshotCache.open(dir, { log: (m) => logs.push(m) });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-cache-faults-'));
  logs = [];
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('SnapshotCache faults', () => {
  test('a database path that cannot be opened (here: a directory) is left in place, and no move is claimed', () => {
    mkdirSync(join(dir, DB_FILE));
    expect(open).toThrow(SnapshotCacheError);
    expect(open).toThrow(/left in place/);
    expect(readdirSync(dir)).toEqual([DB_FILE]);
    expect(logs.join('\n')).not.toContain('moved');
  });

  test('the broker addresses round-trip per URL; a damaged record is ignored and logged', () => {
    const cache = open();
    expect(cache.loadBrokerAddresses('mqtt://b:1883')).toEqual([]);
    cache.saveBrokerAddresses('mqtt://b:1883', ['fd00:4::2', '198.18.4.2']);
    cache.saveBrokerAddresses('mqtt://other:1883', ['198.18.9.9']);
    expect(cache.loadBrokerAddresses('mqtt://b:1883')).toEqual(['198.18.4.2', 'fd00:4::2']);
    cache.close();
    const raw = new Database(join(dir, DB_FILE));
    raw.run(`UPDATE broker_addresses SET addresses = '["1.2.3.4; drop table"]' WHERE url = 'mqtt://b:1883'`);
    raw.close();
    const again = open();
    expect(again.loadBrokerAddresses('mqtt://b:1883')).toEqual([]);
    expect(logs.join('\n')).toContain('not a list of IP addresses');
    expect(again.loadBrokerAddresses('mqtt://other:1883')).toEqual(['198.18.9.9']);
    again.close();
  });

  test('openCopy reads the last snapshot without writing anything to the state dir', () => {
    const cache = open();
    cache.save('gw', { revision: '7', hash: 'sha256:x', payload: new Uint8Array([1, 2, 3]) });
    cache.close();
    const before = readdirSync(dir).sort();
    const copy = SnapshotCache.openCopy(dir);
    expect(copy?.load('gw')?.revision).toBe('7');
    expect(copy?.load('gw')?.payload).toEqual(new Uint8Array([1, 2, 3]));
    copy?.close();
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(SnapshotCache.openCopy(join(dir, 'nothing-here'))).toBeUndefined();
    expect(existsSync(join(dir, 'nothing-here'))).toBe(false);
  });
});
