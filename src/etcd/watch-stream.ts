/**
 * One line of the gateway's watch stream → a WatchMessage. The stream is newline-separated
 * JSON: `{"result": WatchResponse}` or an error object. Kept apart from the client so the
 * classification (created / events / progress / compacted / canceled) is testable without
 * a server.
 */
import * as v from 'valibot';
import { WatchLineSchema, describeIssues, errorDetails } from './gateway-schemas.ts';
import { EtcdError, toKeyValue, type KeyValue } from './types.ts';

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  /** For a delete: the key and the deleting revision (mod_revision), no value. */
  readonly kv: KeyValue;
  /** Present when the watch asked for prev_kv and history still had it. */
  readonly prevKv: KeyValue | undefined;
}

export type WatchMessage =
  /** The watch is registered; `revision` is the store revision at that moment. */
  | { readonly type: 'created'; readonly revision: string }
  /** One or more changes, all at revisions ≤ `revision` (the header revision). */
  | { readonly type: 'events'; readonly revision: string; readonly events: readonly WatchEvent[] }
  /** Nothing changed up to `revision` (progress notification). */
  | { readonly type: 'progress'; readonly revision: string }
  /** The start revision is older than the compaction point: history is gone, re-list. */
  | { readonly type: 'compacted'; readonly compactRevision: string }
  /** etcd ended the watch for another reason. */
  | { readonly type: 'canceled'; readonly reason: string }
  /** The HTTP stream ended without etcd saying why (member shutting down, proxy). */
  | { readonly type: 'closed' };

/** Throws EtcdError BAD_RESPONSE (unparseable) or SERVER (an error object in the stream). */
export function parseWatchLine(line: string, endpoint: string): WatchMessage {
  let json: unknown;
  try {
    json = JSON.parse(line) as unknown;
  } catch {
    throw new EtcdError('BAD_RESPONSE', `etcd watch at ${endpoint}: not JSON: ${line.slice(0, 200)}`);
  }
  const parsed = v.safeParse(WatchLineSchema, json);
  if (!parsed.success) {
    throw new EtcdError('BAD_RESPONSE', `etcd watch at ${endpoint}: unexpected message (${describeIssues(parsed.issues)})`);
  }
  if (!('result' in parsed.output)) {
    const { grpcCode, message } = errorDetails(parsed.output);
    throw new EtcdError('SERVER', `etcd watch at ${endpoint}: ${message}`, grpcCode === undefined ? {} : { grpcCode });
  }
  const r = parsed.output.result;
  if (r.compact_revision !== '0') return { type: 'compacted', compactRevision: r.compact_revision };
  if (r.canceled) return { type: 'canceled', reason: r.cancel_reason || 'canceled by etcd' };
  if (r.created) return { type: 'created', revision: r.header.revision };
  if (r.events.length === 0) return { type: 'progress', revision: r.header.revision };
  return {
    type: 'events',
    revision: r.header.revision,
    events: r.events.map((e) => ({
      type: e.type === 'DELETE' ? 'delete' : 'put',
      kv: toKeyValue(e.kv),
      prevKv: e.prev_kv === undefined ? undefined : toKeyValue(e.prev_kv),
    })),
  };
}
