/**
 * Decoding a snapshot payload (v1 or v2): verify first, then look. See snapshot.ts for the
 * format and the review notes; this file keeps the order of the checks.
 */
import { verify, type KeyObject } from 'node:crypto';
import * as v from 'valibot';
import { NodePlanSchema, type NodePlan } from '../plan/schema.ts';
import { planLayout } from './plan-parts.ts';
import { planBasis, splicePlan, type PlanBasis } from './plan-splice.ts';
import { MAX_CANONICAL_DEPTH, canonicalJson, jsonDepthExceeds } from './canonical-json.ts';
import { KEY_ID_LENGTH, keyId } from './key-id.ts';
import { type Envelope, FORMAT_V1, FORMAT_V2, V2_HEADER_MAX, envelopeOf, inflateBounded, namedFormat, v2Parts } from './snapshot-envelope.ts';
import {
  MAX_PLAN_BYTES, MAX_SNAPSHOT_BYTES, V1BodySchema, V2HeaderSchema, isObject, issueText, refuse, sha256, v1BodyAround, v2HeaderText,
  type DecodeOptions, type DecodeResult, type Header, type Refusal, type Snapshot,
} from './snapshot-format.ts';

const SIG_BYTES = 64;
const KEY_ID_RE = new RegExp(`^[0-9a-f]{${KEY_ID_LENGTH}}$`);

/** Verifies and parses a snapshot payload (v1 or v2) for `options.node`. Never throws. */
export function decodeSnapshot(payload: Uint8Array, options: DecodeOptions): DecodeResult {
  try {
    return decode(payload, options, false) as DecodeResult;
  } catch (e) {
    // Only reachable through a bug or a broken key argument; still a refusal, never a crash.
    return refuse('malformed', `could not decode snapshot: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** What a verified snapshot says about itself, without its plan. */
export interface SnapshotHeader {
  readonly node: string;
  readonly revision: string;
  readonly hash: string;
  readonly issuedAt: number | undefined;
  readonly keyId: string;
}

/**
 * The signed header (node, revision, hash, issuedAt) of a snapshot for `options.node`: the
 * signature and node are checked, the plan is not inflated, parsed, hashed or validated (for v1
 * the body is parsed, as the plan sits inside it). For the relay's look at retained snapshots;
 * an agent uses decodeSnapshot. Never throws.
 */
export function decodeSnapshotHeader(payload: Uint8Array, options: DecodeOptions): { ok: true; header: SnapshotHeader } | Refusal {
  try {
    return decode(payload, options, true) as { ok: true; header: SnapshotHeader } | Refusal;
  } catch (e) {
    return refuse('malformed', `could not decode snapshot: ${e instanceof Error ? e.message : String(e)}`);
  }
}

type Decoded = DecodeResult | { ok: true; header: SnapshotHeader };

/**
 * Order (outcome: nothing unauthenticated is parsed or inflated): size; the envelope found by
 * position, without parsing; the signature over the signed bytes as received; only then the
 * header, the inflation (v2, capped at MAX_PLAN_BYTES), the hash, the JSON parse, the canonical
 * check and the schemas. A payload without either envelope shape can never verify; it is parsed
 * only to say why it is refused, and only when small and shallow (DIAGNOSE_MAX_BYTES).
 */
function decode(payload: Uint8Array, options: DecodeOptions, headerOnly: boolean): Decoded {
  if (!(payload instanceof Uint8Array)) return refuse('malformed', 'payload is not bytes');
  if (payload.length > MAX_SNAPSHOT_BYTES) return refuse('malformed', `payload is ${payload.length} bytes, over the ${MAX_SNAPSHOT_BYTES}-byte limit`);
  const env = envelopeOf(payload);
  if (env === undefined) return diagnose(payload, options);
  const checked = checkSignature(options, env.keyId, env.sig, env.signed);
  if (checked !== undefined) return checked;
  // Authenticated: these are the relay's bytes. Still checked, never trusted to be well-formed.
  return env.version === 1 ? decodeV1(env, payload, options, headerOnly) : decodeV2(env, payload, options, headerOnly);
}

function decodeV1(env: Envelope, payload: Uint8Array, options: DecodeOptions, headerOnly: boolean): Decoded {
  const body = parsedBody(env.signed, V1BodySchema, 'payload');
  if (!body.ok) return body;
  const { text } = body;
  const { plan: rawPlan, node, revision, hash, issuedAt } = body.value;
  const header: Header = { node, revision, hash, issuedAt };
  if (header.node !== options.node) return wrongNode(header.node, options.node);
  if (headerOnly) return { ok: true, header: { ...header, keyId: env.keyId } };
  // One serialisation of the plan checks both: the body is canonical exactly when it equals the
  // canonical body built around the plan's canonical text, and that text is what the hash covers.
  const planText = canonicalText(rawPlan);
  if (!planText.ok) return planText;
  const [before, after] = v1BodyAround(header);
  if (before + planText.text + after !== text) return refuse('malformed', 'payload is not canonical JSON (key order, spacing, escapes or duplicate keys)');
  const actual = sha256(planText.text);
  if (actual !== header.hash) return hashMismatch(header.hash, actual);
  const checked = checkedPlan(rawPlan, header);
  return 'reason' in checked ? checked : accepted(checked, header, env.keyId, payload);
}

function decodeV2(env: Envelope, payload: Uint8Array, options: DecodeOptions, headerOnly: boolean): Decoded {
  const parts = v2Parts(env.signed);
  if (parts === undefined) return refuse('malformed', `the header does not end within ${V2_HEADER_MAX} bytes`);
  const body = parsedBody(parts.header, V2HeaderSchema, 'the header');
  if (!body.ok) return body;
  const { text, value: header } = body;
  if (v2HeaderText(header) !== text) return refuse('malformed', 'the header is not canonical JSON (key order, spacing, escapes or duplicate keys)');
  if (header.node !== options.node) return wrongNode(header.node, options.node);
  if (headerOnly) return { ok: true, header: { node: header.node, revision: header.revision, hash: header.hash, issuedAt: header.issuedAt, keyId: env.keyId } };

  const inflated = inflateBounded(parts.deflated, MAX_PLAN_BYTES);
  if (!inflated.ok) return refuse('malformed', `body.plan: ${inflated.message}`);
  // The hash covers the bytes as inflated, so it is checked before they are even decoded.
  const actual = sha256(inflated.bytes);
  if (actual !== header.hash) return hashMismatch(header.hash, actual);
  // A plan that differs from the previous one only in some members of one set (plan-splice.ts):
  // only those are parsed and validated. Anything else, refusals included, takes the full path.
  const previous = options.previous === undefined ? undefined : bases.get(options.previous);
  const spliced = previous === undefined ? undefined : splicePlan(previous, inflated.bytes);
  if (spliced !== undefined && spliced.plan.node === header.node) return accepted(spliced.plan, header, env.keyId, payload, spliced.basis);
  const planText = utf8(inflated.bytes);
  if (planText === undefined) return refuse('malformed', 'body.plan: not UTF-8');
  const plan = parseJson(planText);
  if (!plan.ok) return plan;
  // Written part by part (plan-parts.ts) so the next decode knows where each policy is; what
  // that writer cannot write, canonicalJson refuses with the reason.
  const layout = planLayout(plan.value);
  const canonical = layout === undefined ? canonicalText(plan.value) : { ok: true as const, text: layout.text };
  if (!canonical.ok) return canonical;
  if (canonical.text !== planText) return refuse('malformed', 'body.plan: not canonical JSON (key order, spacing, escapes or duplicate keys)');
  const valid = checkedPlan(plan.value, header);
  if ('reason' in valid) return valid;
  return accepted(valid, header, env.keyId, payload, planBasis(inflated.bytes, planText, plan.value, valid, layout?.parts ?? []));
}

/**
 * What a verified v2 plan leaves for decoding the next one (plan-splice.ts), by snapshot: kept
 * out of Snapshot itself, which stays plain data, and dropped with it.
 */
const bases = new WeakMap<Snapshot, PlanBasis>();

function checkedPlan(rawPlan: unknown, header: Header): NodePlan | Refusal {
  const plan = v.safeParse(NodePlanSchema, rawPlan, { abortEarly: true });
  if (!plan.success) return refuse('malformed', issueText('body.plan', plan.issues[0]));
  if (plan.output.node !== header.node) return refuse('malformed', `body.plan.node: ${JSON.stringify(plan.output.node)} does not match body.node ${JSON.stringify(header.node)}`);
  return plan.output;
}

function accepted(plan: NodePlan, header: Header, signer: string, payload: Uint8Array, basis?: PlanBasis): DecodeResult {
  const { node, revision, hash, issuedAt } = header;
  const snapshot: Snapshot = { node, revision, hash, issuedAt, keyId: signer, plan, payload: new Uint8Array(payload) };
  if (basis !== undefined) bases.set(snapshot, basis);
  return { ok: true, snapshot };
}

const wrongNode = (node: string, mine: string) => refuse('wrong-node', `snapshot is for node ${JSON.stringify(node)}, this is ${JSON.stringify(mine)}`);
const hashMismatch = (claimed: string, actual: string) => refuse('hash-mismatch', `body.hash is ${claimed} but the plan hashes to ${actual}`);

/**
 * True when `payload` has a snapshot envelope (v1 or v2) and its signature verifies against
 * `publicKey`: the relay's embedded broker keeps only such retained snapshots. Nothing is parsed
 * or inflated.
 */
export function verifySnapshotSignature(payload: Uint8Array, publicKey: KeyObject): boolean {
  try {
    if (payload.length > MAX_SNAPSHOT_BYTES) return false;
    const env = envelopeOf(payload);
    return env !== undefined && checkSignature({ publicKey, node: '' }, env.keyId, env.sig, env.signed) === undefined;
  } catch {
    return false;
  }
}

/**
 * The node a payload claims to be for, unauthenticated (for messages, and `bundle verify`
 * without --node): v2's header line, or v1's body. Bounded; never throws.
 */
export function claimedNode(payload: Uint8Array): string | undefined {
  try {
    const env = envelopeOf(payload);
    let value: unknown;
    if (env?.version === 2) {
      const header = v2Parts(env.signed)?.header;
      value = header === undefined ? undefined : JSON.parse(new TextDecoder().decode(header));
    } else if (payload.length <= MAX_SNAPSHOT_BYTES && !jsonDepthExceeds(payload, MAX_CANONICAL_DEPTH)) {
      value = (JSON.parse(new TextDecoder().decode(payload)) as { body?: unknown }).body;
    }
    const n = isObject(value) ? value['node'] : undefined;
    return typeof n === 'string' ? n.slice(0, 253) : undefined;
  } catch {
    return undefined;
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

/** A payload that can verify is never bigger than this unless it has the canonical shape. */
const DIAGNOSE_MAX_BYTES = 64 * 1024;

/**
 * Why a payload without the canonical envelope is refused. Never accepts: a payload that gets
 * here cannot carry a valid signature over canonical bytes. Parsed only when small and shallow.
 */
function diagnose(payload: Uint8Array, options: DecodeOptions): Refusal {
  const named = namedFormat(payload);
  if (named === FORMAT_V2) return refuse('malformed', `payload is not a signed ${FORMAT_V2} snapshot ("${FORMAT_V2} <keyId> <sig>" and a line feed, then the signed bytes)`);
  // A newer relay's format: say so, so the operator knows the agent, not the relay, is behind.
  if (named !== undefined) return refuse('malformed', `payload is in format ${named}, which this agent does not read (it reads ${FORMAT_V1} and ${FORMAT_V2})`);
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

/** Strict UTF-8 (a BOM stays in the text, so it fails as JSON instead of passing silently). */
/** The signed JSON object (v1 body, v2 header) as text and as checked by `schema`. */
function parsedBody<S extends v.GenericSchema>(bytes: Uint8Array, schema: S, what: string): { ok: true; text: string; value: v.InferOutput<S> } | Refusal {
  const text = utf8(bytes);
  if (text === undefined) return refuse('malformed', `${what} is not UTF-8`);
  const parsed = parseJson(text);
  if (!parsed.ok) return parsed;
  if (!isObject(parsed.value)) return refuse('malformed', 'body: must be an object');
  const checked = v.safeParse(schema, parsed.value, { abortEarly: true });
  if (!checked.success) return refuse('malformed', issueText('body', checked.issues[0]));
  return { ok: true, text, value: checked.output };
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function parseJson(text: string): { ok: true; value: unknown } | Refusal {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return refuse('malformed', `payload is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function canonicalText(value: unknown): { ok: true; text: string } | Refusal {
  try {
    return { ok: true, text: canonicalJson(value) };
  } catch (e) {
    return refuse('malformed', `payload is not canonical JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parseCanonical(payload: Uint8Array): { ok: true; value: unknown } | Refusal {
  const text = utf8(payload);
  if (text === undefined) return refuse('malformed', 'payload is not UTF-8');
  const parsed = parseJson(text);
  if (!parsed.ok) return parsed;
  const canonical = canonicalText(parsed.value);
  if (!canonical.ok) return canonical;
  if (canonical.text !== text) return refuse('malformed', 'payload is not canonical JSON (key order, spacing, escapes or duplicate keys)');
  return parsed;
}
