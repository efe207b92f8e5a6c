/**
 * Local mode's LastGoodMemory over the agent's SQLite state: each manifest file's last valid
 * resources, stored as JSON and validated again when read back (a damaged row is dropped and
 * logged, never trusted).
 */
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
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
