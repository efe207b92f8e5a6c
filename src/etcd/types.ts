/** The etcd client's value types: a stored key-value, and failures classified so callers can retry, re-list or give up. */
import { Buffer } from 'node:buffer';
import type { GatewayKeyValue } from './gateway-schemas.ts';

export interface KeyValue {
  readonly key: string;
  /** The stored bytes decoded as UTF-8 (Calico stores JSON). */
  readonly value: string;
  readonly createRevision: string;
  /** For a delete event: the deleting revision. */
  readonly modRevision: string;
  readonly version: string;
}

export const encodeBase64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const decodeBase64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

export function toKeyValue(kv: GatewayKeyValue): KeyValue {
  return {
    key: decodeBase64(kv.key),
    value: decodeBase64(kv.value),
    createRevision: kv.create_revision,
    modRevision: kv.mod_revision,
    version: kv.version,
  };
}

export type EtcdErrorCode =
  /** No endpoint reachable, or the connection broke. Retry later. */
  | 'UNAVAILABLE'
  /** A write got no answer in time: it may or may not have been applied. */
  | 'TIMEOUT'
  /** The requested revision is older than etcd's compaction point: re-list. */
  | 'COMPACTED'
  /** The gateway answered something that is not what etcd sends. */
  | 'BAD_RESPONSE'
  /** etcd refused the request (gRPC status in `grpcCode`). */
  | 'SERVER';

export class EtcdError extends Error {
  readonly code: EtcdErrorCode;
  readonly grpcCode: number | undefined;
  constructor(code: EtcdErrorCode, message: string, options: { grpcCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EtcdError';
    this.code = code;
    this.grpcCode = options.grpcCode;
  }
}
