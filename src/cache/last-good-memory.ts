/**
 * The folder datastore's LastGoodMemory over the SQLite state dir (agent in local mode, relay
 * with --state): each manifest file's last valid
 * resources, stored as JSON and validated again when read back (a damaged row is dropped and
 * logged, never trusted).
 */
import { SnapshotCache } from './snapshot-cache.ts';
import type { LastGoodMemory } from '../datastore/file-source.ts';
import { resourceKey, type Resource } from '../model/resource.ts';
import { formatResourceError, validateResource } from '../model/validate.ts';

export function lastGoodMemory(cache: SnapshotCache, log: (message: string) => void): LastGoodMemory {
  return {
    load() {
      const out = new Map<string, Map<string, Resource>>();
      for (const [file, rows] of cache.loadLastGood()) {
        const resources = new Map<string, Resource>();
        for (const [key, json] of rows) {
          let raw: unknown;
          try {
            raw = JSON.parse(json) as unknown;
          } catch {
            log(`state: the recorded last valid version of ${key} (${file}) is not JSON; dropped`);
            continue;
          }
          const r = validateResource(raw, file);
          if (r.ok && resourceKey(r.resource) === key) resources.set(key, r.resource);
          else log(`state: the recorded last valid version of ${key} (${file}) no longer validates; dropped${r.ok ? '' : `: ${r.errors.map(formatResourceError).join('; ')}`}`);
        }
        out.set(file, resources);
      }
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
