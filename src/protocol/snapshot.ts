/**
 * The snapshot message: one node's NodePlan, signed by the relay, retained on
 * `<prefix>/nodes/<node>/snapshot`. Two envelopes; the relay writes v2, agents read both.
 *
 *   v2 payload = "outpost.snapshot/v2" SP keyId SP sig LF header LF deflate(plan)
 *      header  = canonical JSON of { format: "outpost.snapshot/v2", node, revision, hash, issuedAt }
 *      deflate = raw DEFLATE (RFC 1951, zlib level 6) of the plan's canonical JSON
 *      sig     = base64 ed25519 signature over the bytes after the first LF (header, LF, deflate)
 *   v1 payload = canonical JSON of { body, keyId, sig }
 *      body    = { format: "outpost.snapshot/v1", node, revision, hash, issuedAt, plan }
 *      sig     = base64 ed25519 signature over canonical JSON of body
 *   both:
 *      issuedAt = when the relay signed it: integer milliseconds since the Unix epoch (UTC)
 *      hash     = "sha256:" + hex SHA-256 of canonical JSON of plan (the inflated bytes, in v2)
 *      keyId    = first 16 hex of SHA-256 of the signer's raw 32-byte public key
 *      payload at most MAX_SNAPSHOT_BYTES; plan at most MAX_PLAN_BYTES of canonical JSON
 *
 *   relay                                broker (retained)                      agent
 *     │ encodeSnapshot(plan, key) ──publish──▶ nodes/N/snapshot ──deliver──▶ decodeSnapshot(bytes, pinned key, N)
 *     │                                                                          │ ok → revisionVerdict(held, new)
 *     │                                                                          │   new → cache bytes, apply
 *     │                                                                          │   stale → refuse, count
 *     │                                                                          └ refused → log reason, count, keep last good
 *
 * Review notes:
 * - Why v2: the plan's JSON compresses about 16× (a 1,000-policy × 10-rule node: 1.7 MB → about
 *   100 KB), which keeps large nodes far below brokers' packet limits (Mosquitto 2.1: 2,000,000
 *   bytes by default) and makes fan-out and bridging cheap. The header stays in clear (signed), so
 *   the relay reads a retained snapshot's revision without inflating it (decodeSnapshotHeader).
 * - The signature covers node, revision, hash and plan together: a snapshot signed for node A is
 *   refused by node B ('wrong-node'), and an old one replayed is refused by revision ('stale').
 * - The signature is checked over the signed bytes exactly as received, before anything is
 *   inflated or parsed: a forgery costs the agent one ed25519 verify, never a JSON parse or an
 *   inflation of an attacker's bytes. A payload with neither envelope is parsed only if small and
 *   shallow, to name the reason.
 * - Inflation is capped at MAX_PLAN_BYTES whatever the input (a deflate "bomb" stops there), and
 *   the inflated plan must hash to the signed hash and be canonical JSON.
 * - One byte form per input: v1 must be exactly canonical JSON; v2's header and plan must be
 *   canonical, and its compressed bytes are whatever the relay signed. Either way the bytes cached
 *   in SQLite are the bytes that were verified, and there is no parser disagreement (duplicate
 *   keys, escapes) to exploit.
 * - decodeSnapshot never throws, whatever the input; every refusal has a reason for the counters.
 * - An agent passes the snapshot it holds (`previous`): a v2 plan that differs from it only in a
 *   run of members of one sorted set list, or in a run of policies or profiles, is decoded from
 *   it after the signature, inflation cap and hash checks (plan-splice.ts, plan-parts.ts): only
 *   what is new is parsed, checked canonical and validated, so a one-member change costs the
 *   same at 1,000 and 100,000 members apart from inflating and hashing, and one changed policy of
 *   a 1,000-policy node about 3-6 ms instead of 60-170. Same result as the full decode
 *   (differential tests and the fuzzer); any other change, and every refusal, takes the full one.
 * - encodeSnapshot is deterministic for a given input and issuedAt (ed25519 signatures are, and
 *   zlib is for one input, level and zlib build): relays running the same outpost build publish
 *   identical bytes for the same (plan, node, revision, issuedAt, key). Builds with another zlib
 *   may compress differently; agents still read them (they never re-compress), and the same
 *   revision and hash is 'unchanged' to them.
 * - One encode serialises the plan once (canonicalPlan; a caller that already has it passes it
 *   in) and v1's body is built around those bytes. The relay skips the schema check for its own
 *   computed plans (checkPlan: false); agents always validate.
 * - The relay re-signs each node's current snapshot periodically with a new issuedAt (same
 *   revision and hash), so an agent can tell a live relay from a replayed, long-retained message;
 *   freshness itself is judged by the agent (src/agent/freshness.ts), not here, so an explicitly
 *   imported bundle can be exempted from it.
 * - issuedAt is optional when decoding v1: a snapshot signed before it existed decodes, with
 *   issuedAt undefined, which the freshness rules treat as infinitely old. v2 requires it.
 * - Upgrades: agents first (they read v1 and v2), then the relay. A relay that must serve agents
 *   older than v2 encodes with { format: 1 }.
 */
import { sign, type KeyObject } from 'node:crypto';
import * as v from 'valibot';
import { NodePlanSchema, type NodePlan } from '../plan/schema.ts';
import { CanonicalJsonError, canonicalBytes, type CanonicalMemo } from './canonical-json.ts';
import { isEd25519, keyId } from './key-id.ts';
import { v1Payload, v1Signed, v2Payload, v2Signed } from './snapshot-envelope.ts';
import { DECODE_REFUSALS, MAX_PLAN_BYTES, MAX_SNAPSHOT_BYTES, isIssueTime, isRevision, issueText, sha256, v1BodyAround, v2HeaderText } from './snapshot-format.ts';
import { nodeNameProblem } from './topics.ts';

export { FORMAT_V1, FORMAT_V2 } from './snapshot-envelope.ts';
export type { CanonicalMemo } from './canonical-json.ts';
export { DECODE_REFUSALS, MAX_PLAN_BYTES, MAX_SNAPSHOT_BYTES, isRevision } from './snapshot-format.ts';
export type { DecodeOptions, DecodeRefusal, DecodeResult, Snapshot } from './snapshot-format.ts';
export { claimedNode, decodeSnapshot, decodeSnapshotHeader, verifySnapshotSignature, type SnapshotHeader } from './snapshot-decode.ts';

/**
 * Every reason an agent refuses a snapshot: the decoder's, plus 'stale' (older revision than the
 * one held) and 'expired' (an agent with no state got one issued longer ago than its maximum age).
 */
export const REFUSAL_REASONS = [...DECODE_REFUSALS, 'stale', 'expired'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export class SnapshotEncodeError extends Error {
  readonly code = 'SNAPSHOT_ENCODE' as const;
}

/** Compares two revisions numerically (they are decimal strings, possibly beyond 2^53). */
export function compareRevisions(a: string, b: string): -1 | 0 | 1 {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * What an agent holding `held` should do with a verified `incoming` snapshot: apply it ('new'),
 * ignore it ('unchanged': same revision, same content, e.g. a retained redelivery), or refuse it
 * ('stale': a replay of an older one). The same revision with a different hash counts as new:
 * both are signed by the relay, and it happens when a relay's own settings change (local
 * failsafes) without a datastore change.
 */
export function revisionVerdict(
  held: { readonly revision: string; readonly hash: string } | undefined,
  incoming: { readonly revision: string; readonly hash: string },
): 'new' | 'unchanged' | 'stale' {
  if (held === undefined) return 'new';
  const c = compareRevisions(incoming.revision, held.revision);
  if (c < 0) return 'stale';
  if (c === 0 && incoming.hash === held.hash) return 'unchanged';
  return 'new';
}

/** "sha256:" + hex SHA-256 of the plan's canonical JSON. */
export function contentHash(plan: NodePlan): string {
  return sha256(canonicalBytes(plan));
}

/** A plan's canonical bytes and their hash: serialised once, then hashed, compared and encoded. */
export interface CanonicalPlan {
  readonly bytes: Uint8Array;
  /** contentHash of the plan. */
  readonly hash: string;
}

/**
 * The plan's canonical JSON bytes and its content hash; throws SnapshotEncodeError when it has no
 * canonical form. `memo` (one WeakMap kept across calls) reuses the text of policies, sets and
 * endpoints that several plans share by identity, as the relay's compiled policies are; those
 * objects must never be mutated afterwards.
 */
export function canonicalPlan(plan: NodePlan, memo?: CanonicalMemo): CanonicalPlan {
  try {
    const bytes = canonicalBytes(plan, memo);
    return { bytes, hash: sha256(bytes) };
  } catch (e) {
    if (e instanceof CanonicalJsonError) throw new SnapshotEncodeError(`plan cannot be encoded: ${e.message.replace(/^\$/, 'plan')}`, { cause: e });
    throw e;
  }
}

export interface EncodeOptions {
  /**
   * 2 (default): the compressed envelope. 1: the uncompressed one, readable by agents from
   * before v2 (every agent reads both).
   */
  readonly format?: 1 | 2;
  /**
   * Schema-check the plan before signing (default true): agents would refuse an invalid plan one
   * by one, this names the bug once. The relay passes false for plans computeNodePlan just made.
   */
  readonly checkPlan?: boolean;
}

/**
 * The MQTT payload for a node's plan; same input, same bytes. Throws SnapshotEncodeError on a
 * relay-side bug. The plan is serialised once (or not at all when `input.canonical` carries
 * canonicalPlan(input.plan), e.g. from a hash comparison the caller already made).
 */
export function encodeSnapshot(
  input: {
    readonly node: string;
    readonly revision: string | bigint;
    readonly plan: NodePlan;
    /** The signing time in ms since the epoch (the caller's clock: this module reads none). */
    readonly issuedAt: number;
    /** canonicalPlan(plan), when the caller has it already. */
    readonly canonical?: CanonicalPlan;
  },
  privateKey: KeyObject,
  options: EncodeOptions = {},
): Uint8Array {
  const { node, plan } = input;
  const issuedAt = input.issuedAt;
  if (!isIssueTime(issuedAt)) throw new SnapshotEncodeError(`issuedAt ${String(issuedAt)} is not a whole number of milliseconds since the epoch`);
  const revision = typeof input.revision === 'bigint' ? input.revision.toString() : input.revision;
  if (!isEd25519(privateKey, 'private')) throw new SnapshotEncodeError('the signing key must be an ed25519 private key');
  const nodeProblem = nodeNameProblem(node);
  if (nodeProblem !== undefined) throw new SnapshotEncodeError(nodeProblem);
  if (!isRevision(revision)) throw new SnapshotEncodeError(`revision ${JSON.stringify(revision)} is not a non-negative int64 in decimal`);
  if (plan.node !== node) throw new SnapshotEncodeError(`the plan is for node ${JSON.stringify(plan.node)}, not ${JSON.stringify(node)}`);
  if (options.checkPlan !== false) {
    const checkedPlan = v.safeParse(NodePlanSchema, plan, { abortEarly: true });
    if (!checkedPlan.success) throw new SnapshotEncodeError(`plan is invalid: ${issueText('plan', checkedPlan.issues[0])}`);
  }
  const canonical = input.canonical ?? canonicalPlan(plan);
  if (canonical.bytes.length > MAX_PLAN_BYTES) {
    throw new SnapshotEncodeError(`the plan for ${node} is ${canonical.bytes.length} bytes of JSON, over the ${MAX_PLAN_BYTES}-byte limit agents accept`);
  }
  const header = { node, revision, hash: canonical.hash, issuedAt };
  const signer = signerId(privateKey);
  let payload: Uint8Array;
  if (options.format === 1) {
    const [before, after] = v1BodyAround(header);
    const signed = v1Signed(before, canonical.bytes, after);
    payload = v1Payload(signed, signer, sign(null, signed, privateKey).toString('base64'));
  } else {
    const signed = v2Signed(v2HeaderText(header), canonical.bytes);
    payload = v2Payload(signed, signer, sign(null, signed, privateKey).toString('base64'));
  }
  if (payload.length > MAX_SNAPSHOT_BYTES) {
    throw new SnapshotEncodeError(`snapshot for ${node} is ${payload.length} bytes, over the ${MAX_SNAPSHOT_BYTES}-byte limit agents accept`);
  }
  return payload;
}

/** keyId costs a key export and a hash; a relay signs with one key thousands of times. */
const signerIds = new WeakMap<KeyObject, string>();
function signerId(key: KeyObject): string {
  let id = signerIds.get(key);
  if (id === undefined) signerIds.set(key, (id = keyId(key)));
  return id;
}
