/**
 * The snapshot message: one node's NodePlan, signed by the relay, retained on
 * `<prefix>/nodes/<node>/snapshot`.
 *
 *   payload = canonical JSON of { body, keyId, sig }       (UTF-8, at most MAX_SNAPSHOT_BYTES)
 *   body    = { format: "outpost.snapshot/v1", node, revision, hash, issuedAt, plan }
 *   issuedAt = when the relay signed it: integer milliseconds since the Unix epoch (UTC)
 *   sig     = base64 ed25519 signature over canonical JSON of body
 *   hash    = "sha256:" + hex SHA-256 of canonical JSON of plan
 *   keyId   = first 16 hex of SHA-256 of the signer's raw 32-byte public key
 *
 *   relay                                broker (retained)                      agent
 *     │ encodeSnapshot(plan, key) ──publish──▶ nodes/N/snapshot ──deliver──▶ decodeSnapshot(bytes, pinned key, N)
 *     │                                                                          │ ok → revisionVerdict(held, new)
 *     │                                                                          │   new → cache bytes, apply
 *     │                                                                          │   stale → refuse, count
 *     │                                                                          └ refused → log reason, count, keep last good
 *
 * Review notes:
 * - The signature covers node, revision, hash and plan together: a snapshot signed for node A is
 *   refused by node B ('wrong-node'), and an old one replayed is refused by revision ('stale').
 * - The signature is checked over the raw body bytes before anything is parsed: a forgery costs
 *   the agent one ed25519 verify (a hash of the bytes), never a JSON parse of an attacker's
 *   payload; a payload without the canonical envelope shape is parsed only if small and shallow,
 *   to name the reason.
 * - The payload must be exactly canonical: with one byte form, the bytes cached in SQLite are the
 *   bytes that were verified, and there is no parser disagreement (duplicate keys, escapes) to exploit.
 * - decodeSnapshot never throws, whatever the input; every refusal has a reason for the counters.
 * - encodeSnapshot is deterministic for a given issuedAt (ed25519 signatures are). The relay
 *   re-signs each node's current snapshot periodically with a new issuedAt (same revision and
 *   hash), so an agent can tell a live relay from a replayed, long-retained message; freshness
 *   itself is judged by the agent (src/agent/freshness.ts), not here, so an explicitly imported
 *   bundle can be exempted from it.
 * - issuedAt is optional when decoding: a snapshot signed before it existed decodes, with
 *   issuedAt undefined, which the freshness rules treat as infinitely old.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import * as v from 'valibot';
import { NodePlanSchema, type NodePlan } from '../plan/schema.ts';
import { CanonicalJsonError, MAX_CANONICAL_DEPTH, canonicalBytes, canonicalJson, jsonDepthExceeds } from './canonical-json.ts';
import { KEY_ID_LENGTH, isEd25519, keyId } from './key-id.ts';
import { nodeNameProblem } from './topics.ts';

export const SNAPSHOT_FORMAT = 'outpost.snapshot/v1';
/** Larger payloads are refused unread: far above any real plan, far below an appliance's memory. */
export const MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024;

/** Why decodeSnapshot refused a payload. */
export const DECODE_REFUSALS = ['malformed', 'unsigned', 'bad-signature', 'wrong-node', 'hash-mismatch'] as const;
export type DecodeRefusal = (typeof DECODE_REFUSALS)[number];
/**
 * Every reason an agent refuses a snapshot: the decoder's, plus 'stale' (older revision than the
 * one held) and 'expired' (an agent with no state got one issued longer ago than its maximum age).
 */
export const REFUSAL_REASONS = [...DECODE_REFUSALS, 'stale', 'expired'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** A verified snapshot. `payload` is a copy of the exact bytes received: cache these, not the plan. */
export interface Snapshot {
  readonly node: string;
  readonly revision: string;
  readonly hash: string;
  /** When the relay signed it (ms since the epoch); undefined for a snapshot from before issue times. */
  readonly issuedAt: number | undefined;
  readonly plan: NodePlan;
  readonly payload: Uint8Array;
}

export type DecodeResult =
  | { readonly ok: true; readonly snapshot: Snapshot }
  | { readonly ok: false; readonly reason: DecodeRefusal; readonly message: string };

export interface DecodeOptions {
  /** The pinned relay key; several during a key rotation (picked by the payload's keyId). */
  readonly publicKey: KeyObject | readonly KeyObject[];
  /** This agent's node name: snapshots for any other node are refused. */
  readonly node: string;
}

export class SnapshotEncodeError extends Error {
  readonly code = 'SNAPSHOT_ENCODE' as const;
}

const INT64_MAX = (1n << 63n) - 1n;
const REVISION_RE = /^(0|[1-9][0-9]{0,18})$/;
const HASH_RE = /^sha256:[0-9a-f]{64}$/;
const SIG_BYTES = 64;
const KEY_ID_RE = new RegExp(`^[0-9a-f]{${KEY_ID_LENGTH}}$`);

/** True for the decimal string of a non-negative int64 without leading zeros (etcd's revision space). */
export function isRevision(s: string): boolean {
  return REVISION_RE.test(s) && BigInt(s) <= INT64_MAX;
}

/** A safe non-negative integer: milliseconds since the epoch (canonical JSON has integers only). */
function isIssueTime(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
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
  return hashOf(plan);
}

function hashOf(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalBytes(value)).digest('hex')}`;
}

/** The MQTT payload for a node's plan; same input, same bytes. Throws SnapshotEncodeError on a relay-side bug. */
export function encodeSnapshot(
  input: {
    readonly node: string;
    readonly revision: string | bigint;
    readonly plan: NodePlan;
    /** The signing time in ms since the epoch (the caller's clock: this module reads none). */
    readonly issuedAt: number;
  },
  privateKey: KeyObject,
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
  // Agents would refuse an invalid plan one by one; failing here names the bug once, at the relay.
  const checkedPlan = v.safeParse(NodePlanSchema, plan, { abortEarly: true });
  if (!checkedPlan.success) throw new SnapshotEncodeError(`plan is invalid: ${issueText('plan', checkedPlan.issues[0])}`);

  let payload: Uint8Array;
  try {
    const body = { format: SNAPSHOT_FORMAT, node, revision, hash: hashOf(plan), issuedAt, plan };
    const sig = sign(null, canonicalBytes(body), privateKey).toString('base64');
    payload = canonicalBytes({ body, keyId: keyId(privateKey), sig });
  } catch (e) {
    // The schema lets through what JSON cannot say exactly (an undefined field); the plan is hashed
    // first, so the path's "$" is the plan.
    if (e instanceof CanonicalJsonError) throw new SnapshotEncodeError(`plan cannot be encoded: ${e.message.replace(/^\$/, 'plan')}`, { cause: e });
    throw e;
  }
  if (payload.length > MAX_SNAPSHOT_BYTES) {
    throw new SnapshotEncodeError(`snapshot for ${node} is ${payload.length} bytes, over the ${MAX_SNAPSHOT_BYTES}-byte limit agents accept`);
  }
  return payload;
}

const BodyHeaderSchema = v.strictObject({
  format: v.literal(SNAPSHOT_FORMAT),
  node: v.string(),
  revision: v.pipe(v.string(), v.check(isRevision, 'must be a non-negative int64 in decimal')),
  hash: v.pipe(v.string(), v.regex(HASH_RE, 'must be "sha256:" and 64 lower-case hex digits')),
  issuedAt: v.optional(v.pipe(v.number(), v.check((n: number) => isIssueTime(n), 'must be a whole number of milliseconds since the epoch'))),
  plan: v.unknown(),
});

type Refusal = Extract<DecodeResult, { ok: false }>;
const refuse = (reason: DecodeRefusal, message: string): Refusal => ({ ok: false, reason, message });

/** Verifies and parses a snapshot payload for `options.node`. Never throws. */
export function decodeSnapshot(payload: Uint8Array, options: DecodeOptions): DecodeResult {
  try {
    return decode(payload, options);
  } catch (e) {
    // Only reachable through a bug or a broken key argument; still a refusal, never a crash.
    return refuse('malformed', `could not decode snapshot: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Order (outcome: nothing unauthenticated is parsed): size; the envelope's fixed head and tail
 * found by position, without parsing; the signature over the body's raw bytes; only then the
 * JSON parse, the canonical check and the schemas. A payload whose envelope does not have the
 * canonical shape can never verify; it is parsed only to say why it is refused, and only when
 * it is small and shallow (DIAGNOSE_MAX_BYTES, MAX_CANONICAL_DEPTH).
 */
function decode(payload: Uint8Array, options: DecodeOptions): DecodeResult {
  if (!(payload instanceof Uint8Array)) return refuse('malformed', 'payload is not bytes');
  if (payload.length > MAX_SNAPSHOT_BYTES) return refuse('malformed', `payload is ${payload.length} bytes, over the ${MAX_SNAPSHOT_BYTES}-byte limit`);
  const env = envelopeOf(payload);
  if (env === undefined) return diagnose(payload, options);
  const checked = checkSignature(options, env.keyId, env.sig, env.body);
  if (checked !== undefined) return checked;

  // Authenticated: these are the relay's bytes. Still checked, never trusted to be well-formed.
  const parsed = parseCanonical(payload);
  if (!parsed.ok) return parsed;
  const body = isObject(parsed.value) ? parsed.value['body'] : undefined;
  if (!isObject(body)) return refuse('malformed', 'body: must be an object');
  const header = v.safeParse(BodyHeaderSchema, body, { abortEarly: true });
  if (!header.success) return refuse('malformed', issueText('body', header.issues[0]));
  const { node, revision, hash, issuedAt, plan: rawPlan } = header.output;
  if (node !== options.node) return refuse('wrong-node', `snapshot is for node ${JSON.stringify(node)}, this is ${JSON.stringify(options.node)}`);
  const actual = hashOf(rawPlan);
  if (actual !== hash) return refuse('hash-mismatch', `body.hash is ${hash} but the plan hashes to ${actual}`);

  const plan = v.safeParse(NodePlanSchema, rawPlan, { abortEarly: true });
  if (!plan.success) return refuse('malformed', issueText('body.plan', plan.issues[0]));
  if (plan.output.node !== node) return refuse('malformed', `body.plan.node: ${JSON.stringify(plan.output.node)} does not match body.node ${JSON.stringify(node)}`);
  return { ok: true, snapshot: { node, revision, hash, issuedAt, plan: plan.output, payload: new Uint8Array(payload) } };
}

/**
 * True when `payload` has the canonical envelope and its signature verifies against `publicKey`:
 * the relay's embedded broker keeps only such retained snapshots. Nothing is parsed.
 */
export function verifySnapshotSignature(payload: Uint8Array, publicKey: KeyObject): boolean {
  try {
    if (payload.length > MAX_SNAPSHOT_BYTES) return false;
    const env = envelopeOf(payload);
    return env !== undefined && checkSignature({ publicKey, node: '' }, env.keyId, env.sig, env.body) === undefined;
  } catch {
    return false;
  }
}

/** The key, the signature's spelling and the ed25519 check; undefined when it verifies. */
function checkSignature(options: DecodeOptions, signer: string, sig: string, body: Uint8Array): Refusal | undefined {
  const key = trustedKey(options, signer);
  if ('ok' in key) return key;
  const sigBytes = Buffer.from(sig, 'base64');
  // Only one spelling of the 64 bytes is accepted, so the payload stays canonical end to end.
  if (sigBytes.length !== SIG_BYTES || sigBytes.toString('base64') !== sig) return refuse('bad-signature', 'sig: not a base64 ed25519 signature');
  if (!verify(null, body, key, sigBytes)) return refuse('bad-signature', `signature does not match key ${signer} (wrong key or altered content)`);
  return undefined;
}

/**
 * A canonical payload is `{"body":<body>,"keyId":"<16 hex>","sig":"<88 base64>"}`: the keys
 * sort that way, and neither value can contain a character JSON escapes. So the body's bytes,
 * the key id and the signature are found by position, with nothing parsed.
 */
const BODY_HEAD = '{"body":';
const TAIL_RE = new RegExp(`^,"keyId":"([0-9a-f]{${KEY_ID_LENGTH}})","sig":"([A-Za-z0-9+/]{86}==)"}$`);
const TAIL_LENGTH = `,"keyId":"","sig":""}`.length + KEY_ID_LENGTH + 88;

function envelopeOf(payload: Uint8Array): { keyId: string; sig: string; body: Uint8Array } | undefined {
  if (payload.length < BODY_HEAD.length + TAIL_LENGTH + 2) return undefined;
  for (let i = 0; i < BODY_HEAD.length; i++) if (payload[i] !== BODY_HEAD.charCodeAt(i)) return undefined;
  const tail = TAIL_RE.exec(new TextDecoder('latin1').decode(payload.subarray(payload.length - TAIL_LENGTH)));
  if (tail === null) return undefined;
  return { keyId: tail[1]!, sig: tail[2]!, body: payload.subarray(BODY_HEAD.length, payload.length - TAIL_LENGTH) };
}

/** A payload that can verify is never bigger than this unless it has the canonical shape. */
const DIAGNOSE_MAX_BYTES = 64 * 1024;

/**
 * Why a payload without the canonical envelope is refused. Never accepts: a payload that gets
 * here cannot carry a valid signature over canonical bytes. Parsed only when small and shallow.
 */
function diagnose(payload: Uint8Array, options: DecodeOptions): Refusal {
  if (payload.length > DIAGNOSE_MAX_BYTES) return refuse('malformed', 'payload is not a signed snapshot ({"body":…,"keyId":…,"sig":…} in canonical form)');
  if (jsonDepthExceeds(payload, MAX_CANONICAL_DEPTH)) return refuse('malformed', `payload is nested deeper than ${MAX_CANONICAL_DEPTH} levels`);
  const envelope = parseCanonical(payload);
  if (!envelope.ok) return envelope;
  const { value } = envelope;
  if (!isObject(value)) return refuse('malformed', 'payload is not a JSON object');
  const extra = Object.keys(value).filter((k) => k !== 'body' && k !== 'keyId' && k !== 'sig');
  // Unsigned parts end up in log lines: keep what an attacker controls short.
  if (extra.length > 0) return refuse('malformed', `unexpected field ${JSON.stringify(extra[0]!.slice(0, 40))} beside body, keyId and sig`);
  const { body, keyId: signer, sig } = value;
  if (sig === undefined || sig === '' || sig === null) return refuse('unsigned', 'snapshot carries no signature');
  if (typeof sig !== 'string') return refuse('malformed', 'sig: must be a base64 string');
  if (typeof signer !== 'string' || !KEY_ID_RE.test(signer)) return refuse('malformed', `keyId: must be ${KEY_ID_LENGTH} lower-case hex digits`);
  if (!isObject(body)) return refuse('malformed', 'body: must be an object');
  // Everything present but not in the one canonical spelling (e.g. a sig of the wrong length):
  // name the key problem if there is one, never verify.
  const key = trustedKey(options, signer);
  return 'ok' in key ? key : refuse('bad-signature', 'sig: not a base64 ed25519 signature');
}

/** The pinned key with id `signer`, or the refusal naming the keys this agent trusts. */
function trustedKey(options: DecodeOptions, signer: string): KeyObject | Refusal {
  const trusted = (Array.isArray(options.publicKey) ? options.publicKey : [options.publicKey]) as readonly KeyObject[];
  return trusted.find((k) => keyId(k) === signer) ??
    refuse('bad-signature', `signed by key ${JSON.stringify(signer)}, this agent trusts ${trusted.map(keyId).join(', ') || 'no key'}`);
}

function parseCanonical(payload: Uint8Array): { ok: true; value: unknown } | Refusal {
  let text: string;
  try {
    // ignoreBOM keeps a BOM in the text, so such a payload fails as non-JSON instead of passing silently.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(payload);
  } catch {
    return refuse('malformed', 'payload is not UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return refuse('malformed', `payload is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  let canonical: string;
  try {
    canonical = canonicalJson(value);
  } catch (e) {
    return refuse('malformed', `payload is not canonical JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (canonical !== text) return refuse('malformed', 'payload is not canonical JSON (key order, spacing, escapes or duplicate keys)');
  return { ok: true, value };
}


function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "body.plan.endpoints[0].name: message", the shape the rest of outpost uses for field errors. */
function issueText(root: string, issue: v.BaseIssue<unknown> | undefined): string {
  if (issue === undefined) return `${root}: invalid`;
  let path = root;
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    path += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  }
  return `${path}: ${issue.message}`;
}
