/**
 * The folder datastore's LastGoodMemory over the SQLite state dir (agent in local mode, relay
 * with --state): each manifest file's last valid resources, stored as JSON.
 *
 * A stored row is parsed and validated again before it is used (a damaged row is dropped and
 * logged, never trusted), but only when it is used: a file's remembered resources stand in only
 * when that file cannot be used now (unreadable, unparsable, a resource turned invalid, still
 * being written), which is rare, while validating every row of a 1,000-policy node on each
 * restart cost about a second. Each file's rows are checked as a whole on first use.
 */
import { SnapshotCache } from './snapshot-cache.ts';
import type { LastGoodMemory } from '../datastore/file-source.ts';
import { resourceKey, type Resource } from '../model/resource.ts';
import { formatResourceError, validateResource } from '../model/validate.ts';

/** One file's remembered resources: its stored rows, validated on first use of the map. */
class RememberedFile extends Map<string, Resource> {
  private rows: ReadonlyMap<string, string> | undefined;

  constructor(rows: ReadonlyMap<string, string>, private readonly file: string, private readonly log: (message: string) => void) {
    super();
    this.rows = rows;
  }

  private fill(): void {
    const rows = this.rows;
    if (rows === undefined) return;
    this.rows = undefined;
    for (const [key, json] of rows) {
      let raw: unknown;
      try {
        raw = JSON.parse(json) as unknown;
      } catch {
        this.log(`state: the recorded last valid version of ${key} (${this.file}) is not JSON; dropped`);
        continue;
      }
      const r = validateResource(raw, this.file);
      if (r.ok && resourceKey(r.resource) === key) super.set(key, r.resource);
      else this.log(`state: the recorded last valid version of ${key} (${this.file}) no longer validates; dropped${r.ok ? ` (it is ${resourceKey(r.resource)})` : `: ${r.errors.map(formatResourceError).join('; ')}`}`);
    }
  }

  // Every way to read or change the map validates the rows first.
  override get(key: string): Resource | undefined {
    this.fill();
    return super.get(key);
  }
  override has(key: string): boolean {
    this.fill();
    return super.has(key);
  }
  override get size(): number {
    this.fill();
    return super.size;
  }
  override set(key: string, value: Resource): this {
    this.fill();
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    this.fill();
    return super.delete(key);
  }
  override clear(): void {
    this.rows = undefined;
    super.clear();
  }
  override forEach(cb: (value: Resource, key: string, map: Map<string, Resource>) => void, thisArg?: unknown): void {
    this.fill();
    super.forEach(cb, thisArg);
  }
  override entries(): MapIterator<[string, Resource]> {
    this.fill();
    return super.entries();
  }
  override keys(): MapIterator<string> {
    this.fill();
    return super.keys();
  }
  override values(): MapIterator<Resource> {
    this.fill();
    return super.values();
  }
  override [Symbol.iterator](): MapIterator<[string, Resource]> {
    this.fill();
    return super[Symbol.iterator]();
  }
}

export function lastGoodMemory(cache: SnapshotCache, log: (message: string) => void): LastGoodMemory {
  return {
    load() {
      const out = new Map<string, Map<string, Resource>>();
      for (const [file, rows] of cache.loadLastGood()) out.set(file, new RememberedFile(rows, file, log));
      return out;
    },
    save(file, resources) {
      cache.saveLastGood(file, [...resources].map(([k, r]) => [k, JSON.stringify(r)] as const));
    },
    retain(files) {
      cache.retainLastGood(files);
    },
  };
}

/**
 * Opens the state dir's database for a LastGoodMemory. A state dir that cannot be used never stops
 * the caller: resources are then remembered for this run only, and that is logged.
 */
export function openLastGoodMemory(state: string, log: { error: (m: string) => void; warn: (m: string) => void }): { memory: LastGoodMemory | undefined; close: () => void } {
  try {
    const cache = SnapshotCache.open(state, { log: (m) => log.error(m) });
    return { memory: lastGoodMemory(cache, (m) => log.warn(m)), close: () => cache.close() };
  } catch (e) {
    log.error(`cannot open the state dir ${state} (${(e as Error).message}); last valid resources are kept for this run only`);
    return { memory: undefined, close: () => undefined };
  }
}
