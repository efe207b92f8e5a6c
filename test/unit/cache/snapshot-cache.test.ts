/** SnapshotCache against real SQLite files in temp folders. */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DB_FILE, SCHEMA_VERSION, SnapshotCache, SnapshotCacheError } from '../../../src/cache/snapshot-cache.ts';

let dir: string;
let logs: string[];
const fixedNow = () => new Date('2025-03-01T12:00:00.000Z');
const open = (stateDir = dir) => SnapshotCache.open(stateDir, { log: (m) => logs.push(m), now: fixedNow });
const bytes = (...b: number[]) => new Uint8Array(b);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-cache-'));
  logs = [];
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('SnapshotCache', () => {
  test('creates the state directory with mode 0700 and the database in it', () => {
    const stateDir = join(dir, 'var', 'lib', 'outpost');
    const cache = open(stateDir);
    cache.close();
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(stateDir, DB_FILE)).isFile()).toBeTrue();
  });

  test('saves and loads the exact payload bytes, also after reopening', () => {
    const payload = bytes(0, 0xff, 0x7b, 0x80, 0);
    const cache = open();
    expect(cache.load('gw')).toBeUndefined();
    cache.save('gw', { revision: '42', hash: 'sha256:aa', payload });
    expect(cache.load('gw')).toEqual({ node: 'gw', revision: '42', hash: 'sha256:aa', payload, storedAt: '2025-03-01T12:00:00.000Z' });
    cache.close();

    const again = open();
    const row = again.load('gw');
    expect(row?.payload).toEqual(payload);
    expect(row?.payload).toBeInstanceOf(Uint8Array);
    expect(again.load('other')).toBeUndefined();
    again.close();
    expect(logs).toEqual([]);
  });

  test('a second save replaces the node\'s row; other nodes keep theirs', () => {
    const cache = open();
    cache.save('gw', { revision: '1', hash: 'h1', payload: bytes(1) });
    cache.save('other', { revision: '5', hash: 'h5', payload: bytes(5) });
    cache.save('gw', { revision: '2', hash: 'h2', payload: bytes(2) });
    expect(cache.load('gw')).toMatchObject({ revision: '2', hash: 'h2', payload: bytes(2) });
    expect(cache.load('other')).toMatchObject({ revision: '5', payload: bytes(5) });
    cache.close();
  });

  test('runs in WAL mode with synchronous=FULL at the current schema version', () => {
    const cache = open();
    expect(cache.settings()).toEqual({ journalMode: 'wal', synchronous: 2, schemaVersion: SCHEMA_VERSION });
    cache.save('gw', { revision: '1', hash: 'h', payload: bytes(1) });
    // WAL is a property of the file: another connection sees it, and the -wal file exists.
    const raw = new Database(join(dir, DB_FILE), { readonly: true });
    expect(raw.query('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(raw.query('PRAGMA user_version').get()).toEqual({ user_version: SCHEMA_VERSION });
    raw.close();
    expect(readdirSync(dir)).toContain(`${DB_FILE}-wal`);
    cache.close();
  });

  test('a save that fails inside its transaction leaves the previous row', () => {
    const cache = open();
    cache.save('gw', { revision: '1', hash: 'h1', payload: bytes(1) });
    // Make the INSERT fail after the DELETE has run, as a disk error mid-transaction would.
    const other = new Database(join(dir, DB_FILE));
    other.run(`CREATE TRIGGER fail_insert BEFORE INSERT ON snapshots WHEN NEW.revision = '2' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    other.close();
    expect(() => cache.save('gw', { revision: '2', hash: 'h2', payload: bytes(2) })).toThrow(SnapshotCacheError);
    expect(() => cache.save('gw', { revision: '2', hash: 'h2', payload: bytes(2) })).toThrow('injected failure');
    expect(cache.load('gw')).toMatchObject({ revision: '1', hash: 'h1', payload: bytes(1) });
    cache.close();
    expect(open().load('gw')).toMatchObject({ revision: '1' });
  });

  test('a file that is not a database is moved aside and the cache starts empty', () => {
    const path = join(dir, DB_FILE);
    writeFileSync(path, 'this is not sqlite, just some text that is long enough to look like a header '.repeat(20));
    writeFileSync(`${path}-wal`, 'stale wal');
    const cache = open();
    expect(cache.load('gw')).toBeUndefined();
    cache.save('gw', { revision: '1', hash: 'h', payload: bytes(1) });
    cache.close();
    const aside = `${DB_FILE}.corrupt-2025-03-01T12-00-00-000Z`;
    expect(readdirSync(dir)).toContain(aside);
    // SQLite may delete the stale WAL itself; either way it must not sit beside the new database.
    const wal = join(dir, `${DB_FILE}-wal`);
    if (existsSync(wal)) expect(readFileSync(wal, 'utf8')).not.toBe('stale wal');
    expect(readFileSync(join(dir, aside), 'utf8')).toStartWith('this is not sqlite');
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(aside);
    expect(logs[0]).toContain('starting with an empty cache');
  });

  test('a database with damaged pages is moved aside', () => {
    const cache = open();
    for (let i = 0; i < 50; i++) cache.save(`node-${i}`, { revision: String(i), hash: 'h', payload: new Uint8Array(3000).fill(i) });
    cache.close();
    const path = join(dir, DB_FILE);
    const file = readFileSync(path);
    expect(file.length).toBeGreaterThan(4 * 4096);
    // Scribble over the second and third pages (b-tree pages), keep the header intact.
    file.fill(0xa5, 4096, 3 * 4096);
    writeFileSync(path, file);
    const reopened = open();
    expect(reopened.load('node-1')).toBeUndefined();
    reopened.close();
    expect(logs).toHaveLength(1);
    expect(readdirSync(dir).some((f) => f.startsWith(`${DB_FILE}.corrupt-`))).toBeTrue();
  });

  test('a database from a newer outpost is moved aside rather than misread', () => {
    const db = new Database(join(dir, DB_FILE));
    db.run(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const cache = open();
    expect(cache.settings().schemaVersion).toBe(SCHEMA_VERSION);
    cache.close();
    expect(logs[0]).toContain('newer than this outpost understands');
  });

  test('a database that claims the current version but lacks the table is moved aside', () => {
    const db = new Database(join(dir, DB_FILE));
    db.run(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.close();
    const cache = open();
    cache.save('gw', { revision: '1', hash: 'h', payload: bytes(1) });
    cache.close();
    expect(logs).toHaveLength(1);
  });

  test('throws only when not even an empty database can be created', () => {
    const blocker = join(dir, 'file');
    writeFileSync(blocker, '');
    expect(() => open(join(blocker, 'state'))).toThrow(SnapshotCacheError);
  });

  test('a save that is killed mid-write leaves a complete row (old or new), never a torn one', async () => {
    const script = `
      import { SnapshotCache } from ${JSON.stringify(join(import.meta.dir, '../../../src/cache/snapshot-cache.ts'))};
      const cache = SnapshotCache.open(${JSON.stringify(dir)});
      for (let i = 1; ; i++) {
        cache.save('gw', { revision: String(i), hash: 'h' + i, payload: new Uint8Array(200000).fill(i % 256) });
        if (i === 3) process.stdout.write('saving\\n');
      }`;
    const child = Bun.spawn([process.execPath, '-e', script], { stdout: 'pipe', stderr: 'pipe' });
    const reader = child.stdout.getReader();
    await reader.read();
    await Bun.sleep(150);
    child.kill('SIGKILL');
    await child.exited;
    const cache = open();
    const row = cache.load('gw');
    cache.close();
    expect(row).toBeDefined();
    const n = Number(row!.revision);
    expect(n).toBeGreaterThanOrEqual(3);
    expect(row!.hash).toBe(`h${n}`);
    expect(row!.payload).toHaveLength(200000);
    expect(row!.payload.every((b) => b === n % 256)).toBeTrue();
    expect(logs).toEqual([]);
  });
});
