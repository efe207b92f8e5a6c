/**
 * The last valid version of a key, from etcd's own history. The relay keeps no state of its own,
 * so when it (re)starts and finds a resource whose stored value is invalid, the version that was
 * in force before the bad write is still in etcd until compaction: read it there rather than let
 * the resource vanish (Felix would treat it as deleted, which can open a host).
 */
import { EtcdError, type EtcdClient, type KeyValue } from '../etcd/client.ts';

/** How many older versions to look through before giving up (each is one range call). */
export const HISTORY_DEPTH = 16;

export type HistoryResult<R> =
  | { found: true; resource: R; modRevision: string }
  | { found: false; reason: 'never-valid' | 'compacted' | 'too-deep' };

/**
 * Walks back from the version at `modRevision`: the value as of `modRevision - 1`, then the one
 * before that, until `valid` accepts one, the key did not exist yet, or history is compacted.
 */
export async function lastValidVersion<R>(
  client: EtcdClient,
  key: string,
  modRevision: string,
  valid: (kv: KeyValue) => R | undefined,
): Promise<HistoryResult<R>> {
  let before = BigInt(modRevision) - 1n;
  for (let i = 0; i < HISTORY_DEPTH && before > 0n; i++) {
    let kv: KeyValue | undefined;
    try {
      kv = (await client.range(key, { revision: before.toString() })).kvs[0];
    } catch (e) {
      if (e instanceof EtcdError && e.code === 'COMPACTED') return { found: false, reason: 'compacted' };
      throw e;
    }
    if (!kv) return { found: false, reason: 'never-valid' };
    const r = valid(kv);
    if (r !== undefined) return { found: true, resource: r, modRevision: kv.modRevision };
    before = BigInt(kv.modRevision) - 1n;
  }
  return { found: false, reason: before > 0n ? 'too-deep' : 'never-valid' };
}
