/**
 * The agent's durable state: the last verified snapshot per node, as the exact MQTT payload bytes,
 * and (local mode) the last valid version of every resource per manifest file, so that a resource
 * that turned invalid keeps its last valid version across a restart too. The only module that
 * imports bun:sqlite.
 *
 * Contract:
 * - Bytes, not parsed objects: on boot the agent decodes and verifies the cached payload again,
 *   so a tampered or outdated cache is refused exactly like a bad message from the broker.
 * - WAL with synchronous=FULL: appliances lose power, and a committed save must survive that.
 *   A save is one transaction; a crash or an error in the middle leaves the previous row.
 * - A database that cannot be opened (not SQLite, corrupt, written by a newer outpost) never stops
 *   the agent: it is moved aside as `outpost.db.corrupt-<time>` (with any -wal/-shm files left), the
 *   reason is logged, and the cache starts empty. The agent then boots as if it were new.
 * - A state dir that cannot be written (read-only, full, no permission) is not a corrupt
 *   database: open() throws and nothing is moved; openCopy() still reads the last snapshot.
 * - The schema version lives in `PRAGMA user_version`; MIGRATIONS[i] takes version i to i+1.
 */
import { Database } from 'bun:sqlite';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as v from 'valibot';

export const DB_FILE = 'outpost.db';

/** What is stored for one node. `payload` is the verified MQTT payload, byte for byte. */
export interface CachedSnapshot {
  readonly revision: string;
  readonly hash: string;
  readonly payload: Uint8Array;
}

export interface CachedRow extends CachedSnapshot {
  readonly node: string;
  /** ISO time the row was written. */
  readonly storedAt: string;
}

export interface SnapshotCacheOptions {
  /** Receives one line per notable event (database moved aside, load failure). */
  readonly log?: (message: string) => void;
  /** Clock for `stored_at` and the name of a moved-aside file; tests pass a fixed one. */
  readonly now?: () => Date;
}

export class SnapshotCacheError extends Error {
  readonly code = 'SNAPSHOT_CACHE' as const;
}

/** Each entry upgrades the schema by one version, run in one transaction with the version bump. */
const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE snapshots (
       node      TEXT PRIMARY KEY NOT NULL,
       revision  TEXT NOT NULL,
       hash      TEXT NOT NULL,
       payload   BLOB NOT NULL,
       stored_at TEXT NOT NULL
     ) STRICT`,
  ],
  [
    `CREATE TABLE last_good (
       file     TEXT NOT NULL,
       key      TEXT NOT NULL,
       resource TEXT NOT NULL,
       PRIMARY KEY (file, key)
     ) STRICT`,
  ],
  [
    // The agent's broker path, so that a host that boots with DNS down can still reach its broker.
    `CREATE TABLE broker_addresses (
       url       TEXT PRIMARY KEY NOT NULL,
       addresses TEXT NOT NULL,
       stored_at TEXT NOT NULL
     ) STRICT`,
  ],
];
export const SCHEMA_VERSION = MIGRATIONS.length;

interface RawRow {
  node: string;
  revision: string;
  hash: string;
  payload: Uint8Array;
  stored_at: string;
}

export class SnapshotCache {
  private constructor(
    private readonly db: Database,
    readonly path: string,
    private readonly log: (message: string) => void,
    private readonly now: () => Date,
  ) {}

  /**
   * Opens or creates `<stateDir>/outpost.db`, creating `stateDir` (mode 0700) if needed. Throws
   * SnapshotCacheError only when even a fresh, empty database cannot be created there.
   */
  static open(stateDir: string, options: SnapshotCacheOptions = {}): SnapshotCache {
    const log = options.log ?? (() => undefined);
    const now = options.now ?? (() => new Date());
    const path = join(stateDir, DB_FILE);
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new SnapshotCacheError(`cannot create state directory ${stateDir}: ${errorText(e)}`, { cause: e });
    }
    try {
      return new SnapshotCache(openDatabase(path), path, log, now);
    } catch (e) {
      // A read-only, full or unreadable state dir says nothing about the database: it stays
      // where it is (moving it aside would throw away a good cache because of a mount option).
      if (isAccessProblem(e)) throw new SnapshotCacheError(`cannot open the snapshot cache ${path} (${errorText(e)}); it was left in place`, { cause: e });
      const aside = `${path}.corrupt-${now().toISOString().replace(/[:.]/g, '-')}`;
      const moved: string[] = [];
      try {
        for (const suffix of ['', '-wal', '-shm']) {
          // A stale WAL beside a new database would be replayed into it, so it goes too.
          if (existsSync(path + suffix)) {
            renameSync(path + suffix, aside + suffix);
            moved.push(aside + suffix);
          }
        }
      } catch (moveError) {
        throw new SnapshotCacheError(`${path} is unusable (${errorText(e)}) and cannot be moved aside: ${errorText(moveError)}${moved.length ? ` (already moved: ${moved.join(', ')})` : ''}`, { cause: e });
      }
      if (moved.length === 0) throw new SnapshotCacheError(`cannot create the snapshot cache ${path}: ${errorText(e)}`, { cause: e });
      log(`snapshot cache ${path} is unusable (${errorText(e)}); moved it to ${aside} and starting with an empty cache`);
      try {
        return new SnapshotCache(openDatabase(path), path, log, now);
      } catch (again) {
        throw new SnapshotCacheError(`cannot create a new snapshot cache at ${path}: ${errorText(again)}`, { cause: again });
      }
    }
  }

  /**
   * A read-only, in-memory copy of `<stateDir>/outpost.db`, for a state dir that cannot be
   * opened for writing (read-only mount, full disk): the agent can still enforce its cached
   * snapshot at boot. Writes to the copy go nowhere. What only the WAL holds (after a crash)
   * is not in the copy: an older snapshot may be read, which the revision check then handles.
   * Undefined when there is no readable database.
   */
  static openCopy(stateDir: string, options: SnapshotCacheOptions = {}): SnapshotCache | undefined {
    const path = join(stateDir, DB_FILE);
    try {
      const bytes = readFileSync(path);
      // Header bytes 18/19 = 2 mean WAL, which an in-memory database cannot use; 1 = rollback journal.
      if (bytes.length >= 100) bytes[18] = bytes[19] = 1;
      const db = Database.deserialize(bytes, true);
      db.query('SELECT node, revision, hash, payload, stored_at FROM snapshots LIMIT 0').all();
      return new SnapshotCache(db, `${path} (read-only copy)`, options.log ?? (() => undefined), options.now ?? (() => new Date()));
    } catch {
      return undefined;
    }
  }

  /** Broker addresses last resolved for `url` (valid IP strings only), or [] when none are recorded. */
  loadBrokerAddresses(url: string): string[] {
    try {
      const row = this.db.query<{ addresses: string }, [string]>('SELECT addresses FROM broker_addresses WHERE url = ?').get(url);
      if (!row) return [];
      const parsed = v.safeParse(AddressList, JSON.parse(row.addresses) as unknown);
      if (!parsed.success) {
        this.log(`the recorded broker addresses for ${url} in ${this.path} are not a list of IP addresses; ignored`);
        return [];
      }
      return parsed.output;
    } catch (e) {
      this.log(`cannot read the recorded broker addresses from ${this.path}: ${errorText(e)}`);
      return [];
    }
  }

  /** Records the broker's resolved addresses; throws SnapshotCacheError if they were not stored. */
  saveBrokerAddresses(url: string, addresses: readonly string[]): void {
    try {
      this.db
        .query('INSERT INTO broker_addresses (url, addresses, stored_at) VALUES (?, ?, ?) ON CONFLICT (url) DO UPDATE SET addresses = excluded.addresses, stored_at = excluded.stored_at')
        .run(url, JSON.stringify([...addresses].sort()), this.now().toISOString());
    } catch (e) {
      throw new SnapshotCacheError(`cannot save the broker addresses in ${this.path}: ${errorText(e)}`, { cause: e });
    }
  }

  /** Replaces the node's row in one transaction; throws SnapshotCacheError if it was not stored. */
  save(node: string, snapshot: CachedSnapshot): void {
    const storedAt = this.now().toISOString();
    try {
      this.db.transaction(() => {
        // Delete then insert (not an upsert) so that no trace of the old row survives a partial write.
        this.db.query('DELETE FROM snapshots WHERE node = ?').run(node);
        this.db
          .query('INSERT INTO snapshots (node, revision, hash, payload, stored_at) VALUES (?, ?, ?, ?, ?)')
          .run(node, snapshot.revision, snapshot.hash, snapshot.payload, storedAt);
      })();
    } catch (e) {
      throw new SnapshotCacheError(`cannot save the snapshot for ${node} in ${this.path}: ${errorText(e)}`, { cause: e });
    }
  }

  /** The node's last saved snapshot; undefined if there is none or it cannot be read (logged). */
  load(node: string): CachedRow | undefined {
    let row: RawRow | null;
    try {
      row = this.db.query<RawRow, [string]>('SELECT node, revision, hash, payload, stored_at FROM snapshots WHERE node = ?').get(node);
    } catch (e) {
      this.log(`cannot read the cached snapshot for ${node} from ${this.path}: ${errorText(e)}`);
      return undefined;
    }
    if (row === null) return undefined;
    return { node: row.node, revision: row.revision, hash: row.hash, payload: new Uint8Array(row.payload), storedAt: row.stored_at };
  }

  /** Replaces the last valid resources (key → JSON) recorded for one manifest file, in one transaction. */
  saveLastGood(file: string, entries: readonly (readonly [string, string])[]): void {
    try {
      this.db.transaction(() => {
        this.db.query('DELETE FROM last_good WHERE file = ?').run(file);
        const insert = this.db.query('INSERT INTO last_good (file, key, resource) VALUES (?, ?, ?)');
        for (const [key, json] of entries) insert.run(file, key, json);
      })();
    } catch (e) {
      throw new SnapshotCacheError(`cannot save the last valid resources of ${file} in ${this.path}: ${errorText(e)}`, { cause: e });
    }
  }

  /** Forgets the files not in `keep` (deleted while the agent was not looking, or now). */
  retainLastGood(keep: ReadonlySet<string>): void {
    try {
      const files = this.db.query<{ file: string }, []>('SELECT DISTINCT file FROM last_good').all();
      this.db.transaction(() => {
        for (const { file } of files) if (!keep.has(file)) this.db.query('DELETE FROM last_good WHERE file = ?').run(file);
      })();
    } catch (e) {
      throw new SnapshotCacheError(`cannot update the last valid resources in ${this.path}: ${errorText(e)}`, { cause: e });
    }
  }

  /** file → key → JSON of every recorded last valid resource (empty, and logged, if unreadable). */
  loadLastGood(): Map<string, Map<string, string>> {
    const out = new Map<string, Map<string, string>>();
    try {
      for (const r of this.db.query<{ file: string; key: string; resource: string }, []>('SELECT file, key, resource FROM last_good').all()) {
        let m = out.get(r.file);
        if (!m) out.set(r.file, (m = new Map()));
        m.set(r.key, r.resource);
      }
    } catch (e) {
      this.log(`cannot read the last valid resources from ${this.path}: ${errorText(e)}`);
    }
    return out;
  }

  /** The settings that make the cache durable, as SQLite reports them (for `outpost status` and tests). */
  settings(): { journalMode: string; synchronous: number; schemaVersion: number } {
    const journalMode = this.db.query<{ journal_mode: string }, []>('PRAGMA journal_mode').get()?.journal_mode ?? '';
    const synchronous = this.db.query<{ synchronous: number }, []>('PRAGMA synchronous').get()?.synchronous ?? -1;
    const schemaVersion = this.db.query<{ user_version: number }, []>('PRAGMA user_version').get()?.user_version ?? -1;
    return { journalMode, synchronous, schemaVersion };
  }

  close(): void {
    this.db.close();
  }
}

function openDatabase(path: string): Database {
  const db = new Database(path, { create: true, readwrite: true, strict: true });
  try {
    // The first statement is where SQLite notices a file that is not a database.
    const mode = db.query<{ journal_mode: string }, []>('PRAGMA journal_mode = WAL').get();
    if (mode?.journal_mode !== 'wal') throw new Error(`cannot enable WAL (journal_mode is ${mode?.journal_mode ?? 'unknown'})`);
    db.run('PRAGMA synchronous = FULL');
    // `outpost status` may read while the agent writes; wait for the lock rather than fail.
    db.run('PRAGMA busy_timeout = 5000');
    const check = db.query<{ quick_check: string }, []>('PRAGMA quick_check').all();
    if (check.length !== 1 || check[0]?.quick_check !== 'ok') {
      throw new Error(`integrity check failed: ${check.map((r) => r.quick_check).slice(0, 3).join('; ')}`);
    }
    migrate(db);
    // A database whose version says "current" but whose table is wrong is as unusable as a corrupt one.
    db.query('SELECT node, revision, hash, payload, stored_at FROM snapshots LIMIT 0').all();
    db.query('SELECT file, key, resource FROM last_good LIMIT 0').all();
    db.query('SELECT url, addresses, stored_at FROM broker_addresses LIMIT 0').all();
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function migrate(db: Database): void {
  const version = db.query<{ user_version: number }, []>('PRAGMA user_version').get()?.user_version ?? 0;
  if (version > SCHEMA_VERSION) throw new Error(`schema version ${version} is newer than this outpost understands (${SCHEMA_VERSION})`);
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      for (const sql of MIGRATIONS[v] ?? []) db.run(sql);
      // PRAGMA does not take parameters; v + 1 is an integer we computed.
      db.run(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}

const AddressList = v.array(v.pipe(v.string(), v.check((a) => isIP(a) !== 0, 'not an IP address')));

/** SQLite and file-system errors that are about the place, not about the database in it. */
function isAccessProblem(e: unknown): boolean {
  const code = String((e as { code?: unknown }).code ?? '');
  return /^SQLITE_(CANTOPEN|READONLY|FULL|IOERR|PERM|BUSY|LOCKED|AUTH)/.test(code) || /^(EROFS|EACCES|EPERM|ENOSPC|EDQUOT|EIO)$/.test(code);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
