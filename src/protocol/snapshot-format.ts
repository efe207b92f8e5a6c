/**
 * What both ends of the snapshot protocol agree on: limits, the decoder's result types, the
 * header fields and their canonical spelling (snapshot.ts describes the format as a whole).
 */
import { createHash, type KeyObject } from 'node:crypto';
import * as v from 'valibot';
import type { NodePlan } from '../plan/schema.ts';
import { FORMAT_V1, FORMAT_V2 } from './snapshot-envelope.ts';

/** Larger payloads are refused unread: far above any real plan, far below an appliance's memory. */
export const MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024;
/**
 * The largest plan (canonical JSON bytes) a snapshot may carry, compressed or not: the
 * inflation of a v2 plan stops here, so no payload costs an agent more than a v1 payload could.
 */
export const MAX_PLAN_BYTES = MAX_SNAPSHOT_BYTES;

/** Why decodeSnapshot refused a payload. */
export const DECODE_REFUSALS = ['malformed', 'unsigned', 'bad-signature', 'wrong-node', 'hash-mismatch'] as const;
export type DecodeRefusal = (typeof DECODE_REFUSALS)[number];

/** A verified snapshot. `payload` is a copy of the exact bytes received: cache these, not the plan. */
export interface Snapshot {
  readonly node: string;
  readonly revision: string;
  readonly hash: string;
  /** When the relay signed it (ms since the epoch); undefined for a snapshot from before issue times. */
  readonly issuedAt: number | undefined;
  /** The id of the key that signed it. */
  readonly keyId: string;
  readonly plan: NodePlan;
  readonly payload: Uint8Array;
}

export type DecodeResult =
  | { readonly ok: true; readonly snapshot: Snapshot }
  | { readonly ok: false; readonly reason: DecodeRefusal; readonly message: string };
export type Refusal = Extract<DecodeResult, { ok: false }>;
export const refuse = (reason: DecodeRefusal, message: string): Refusal => ({ ok: false, reason, message });

export interface DecodeOptions {
  /** The pinned relay key; several during a key rotation (picked by the payload's keyId). */
  readonly publicKey: KeyObject | readonly KeyObject[];
  /** This agent's node name: snapshots for any other node are refused. */
  readonly node: string;
  /**
   * The snapshot held now, as decodeSnapshot returned it: a v2 plan that differs from its plan
   * only in some members of one set is decoded from it (plan-splice.ts), at a cost that follows
   * the change, not the set. Same result, same checks on everything new; never required.
   */
  readonly previous?: Snapshot;
}

const INT64_MAX = (1n << 63n) - 1n;
const REVISION_RE = /^(0|[1-9][0-9]{0,18})$/;
const HASH_RE = /^sha256:[0-9a-f]{64}$/;

/** True for the decimal string of a non-negative int64 without leading zeros (etcd's revision space). */
export function isRevision(s: string): boolean {
  return REVISION_RE.test(s) && BigInt(s) <= INT64_MAX;
}

/** A safe non-negative integer: milliseconds since the epoch (canonical JSON has integers only). */
export function isIssueTime(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The signed fields besides the plan. */
export interface Header {
  readonly node: string;
  readonly revision: string;
  readonly hash: string;
  readonly issuedAt: number | undefined;
}

/**
 * The canonical v1 body text before and after the plan: its keys sort as format, hash,
 * issuedAt, node, plan, revision, so the plan's bytes sit between two short strings.
 */
export function v1BodyAround(h: Header): [string, string] {
  const issued = h.issuedAt === undefined ? '' : `"issuedAt":${h.issuedAt},`;
  return [`{"format":"${FORMAT_V1}","hash":${JSON.stringify(h.hash)},${issued}"node":${JSON.stringify(h.node)},"plan":`, `,"revision":${JSON.stringify(h.revision)}}`];
}

/** The canonical v2 header (keys sorted: format, hash, issuedAt, node, revision). */
export function v2HeaderText(h: Header): string {
  return `{"format":"${FORMAT_V2}","hash":${JSON.stringify(h.hash)},"issuedAt":${h.issuedAt},"node":${JSON.stringify(h.node)},"revision":${JSON.stringify(h.revision)}}`;
}

const isIssuedAt = v.pipe(v.number(), v.check((n: number) => isIssueTime(n), 'must be a whole number of milliseconds since the epoch'));
const headerEntries = {
  node: v.string(),
  revision: v.pipe(v.string(), v.check(isRevision, 'must be a non-negative int64 in decimal')),
  hash: v.pipe(v.string(), v.regex(HASH_RE, 'must be "sha256:" and 64 lower-case hex digits')),
};
/** A v1 body; issuedAt is optional there (bodies signed before issue times exist). */
export const V1BodySchema = v.strictObject({ format: v.literal(FORMAT_V1), ...headerEntries, issuedAt: v.optional(isIssuedAt), plan: v.unknown() });
export const V2HeaderSchema = v.strictObject({ format: v.literal(FORMAT_V2), ...headerEntries, issuedAt: isIssuedAt });

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "body.plan.endpoints[0].name: message", the shape the rest of outpost uses for field errors. */
export function issueText(root: string, issue: v.BaseIssue<unknown> | undefined): string {
  if (issue === undefined) return `${root}: invalid`;
  let path = root;
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    path += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  }
  return `${path}: ${issue.message}`;
}
