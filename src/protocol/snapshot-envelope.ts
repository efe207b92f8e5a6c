/**
 * The byte layouts of a snapshot payload, found by position without parsing anything, and the
 * bounded inflation of a v2 plan. snapshot.ts decides what the bytes mean; this file only knows
 * where they are.
 *
 *   v1 = {"body":<signed>,"keyId":"<16 hex>","sig":"<88 base64>"}
 *        signed = canonical JSON of the body, plan inside
 *   v2 = outpost.snapshot/v2 SP <16 hex> SP <88 base64> LF <signed>
 *        signed = <header: canonical JSON, no LF> LF <raw DEFLATE (RFC 1951) of the canonical plan>
 *
 * Review notes:
 * - In both, the signature covers one contiguous range of the received bytes (`signed`), so it is
 *   checked on a view of the payload, before anything is inflated or parsed.
 * - v1 and v2 signatures cannot stand in for each other: a v1 signed range starts with
 *   `{"format":"outpost.snapshot/v1"`, a v2 one with `{"format":"outpost.snapshot/v2"`, and each
 *   decoder requires its own format in what it signed.
 * - Canonical JSON never contains a raw LF (JSON escapes it in strings), so the first LF ends the
 *   v2 header; it must come within V2_HEADER_MAX bytes.
 * - Compression is deterministic for a given input, level and zlib: the relay's bytes are a
 *   function of (plan, node, revision, issuedAt, key) within one outpost build. The agent never
 *   re-compresses to compare, so relays on different builds all stay readable.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { KEY_ID_LENGTH } from './key-id.ts';

export const FORMAT_V1 = 'outpost.snapshot/v1';
export const FORMAT_V2 = 'outpost.snapshot/v2';
/** zlib's default: within a few percent of level 9 on plans, at less than half its time. */
const DEFLATE_LEVEL = 6;
/** A real header is under 500 bytes (a node name is at most 253). */
export const V2_HEADER_MAX = 1024;

export interface Envelope {
  readonly version: 1 | 2;
  readonly keyId: string;
  readonly sig: string;
  /** A view of the payload: exactly the bytes the signature covers. */
  readonly signed: Uint8Array;
}

const ascii = (s: string) => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array) => new TextDecoder('latin1').decode(b);
const SIG_RE = '([A-Za-z0-9+/]{86}==)';
const KEY_RE = `([0-9a-f]{${KEY_ID_LENGTH}})`;

const V1_HEAD = ascii('{"body":');
const V1_TAIL_RE = new RegExp(`^,"keyId":"${KEY_RE}","sig":"${SIG_RE}"}$`);
const V1_TAIL_LENGTH = `,"keyId":"","sig":""}`.length + KEY_ID_LENGTH + 88;
const V2_HEAD_RE = new RegExp(`^outpost\\.snapshot/v2 ${KEY_RE} ${SIG_RE}\\n$`);
const V2_HEAD_LENGTH = `${FORMAT_V2}   \n`.length - 1 + KEY_ID_LENGTH + 88;
const V2_MAGIC = ascii(`${FORMAT_V2} `);

function startsWith(payload: Uint8Array, head: Uint8Array): boolean {
  if (payload.length < head.length) return false;
  for (let i = 0; i < head.length; i++) if (payload[i] !== head[i]) return false;
  return true;
}

/** The envelope of a payload in either layout, or undefined when it has neither shape. */
export function envelopeOf(payload: Uint8Array): Envelope | undefined {
  if (startsWith(payload, V2_MAGIC)) {
    if (payload.length <= V2_HEAD_LENGTH) return undefined;
    const head = V2_HEAD_RE.exec(latin1(payload.subarray(0, V2_HEAD_LENGTH)));
    return head === null ? undefined : { version: 2, keyId: head[1]!, sig: head[2]!, signed: payload.subarray(V2_HEAD_LENGTH) };
  }
  if (payload.length < V1_HEAD.length + V1_TAIL_LENGTH + 2 || !startsWith(payload, V1_HEAD)) return undefined;
  const tail = V1_TAIL_RE.exec(latin1(payload.subarray(payload.length - V1_TAIL_LENGTH)));
  if (tail === null) return undefined;
  return { version: 1, keyId: tail[1]!, sig: tail[2]!, signed: payload.subarray(V1_HEAD.length, payload.length - V1_TAIL_LENGTH) };
}

/** "outpost.snapshot/vN" when a payload names a format in the v2 way (even one this code does not read). */
export function namedFormat(payload: Uint8Array): string | undefined {
  const m = /^(outpost\.snapshot\/v[0-9]{1,4})[ \n]/.exec(latin1(payload.subarray(0, 32)));
  return m?.[1];
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** v1's signed range: the body text around the plan's canonical bytes (they are not copied twice). */
export function v1Signed(before: string, plan: Uint8Array, after: string): Uint8Array {
  return concat([new TextEncoder().encode(before), plan, new TextEncoder().encode(after)]);
}

/** v2's signed range: the header line, then the deflated plan. */
export function v2Signed(header: string, plan: Uint8Array): Uint8Array {
  return concat([new TextEncoder().encode(`${header}\n`), deflateRawSync(plan, { level: DEFLATE_LEVEL })]);
}

export function v1Payload(signed: Uint8Array, keyId: string, sig: string): Uint8Array {
  return concat([V1_HEAD, signed, ascii(`,"keyId":"${keyId}","sig":"${sig}"}`)]);
}

export function v2Payload(signed: Uint8Array, keyId: string, sig: string): Uint8Array {
  return concat([ascii(`${FORMAT_V2} ${keyId} ${sig}\n`), signed]);
}

/** The v2 header bytes and the compressed plan, or undefined when no LF ends a header in time. */
export function v2Parts(signed: Uint8Array): { header: Uint8Array; deflated: Uint8Array } | undefined {
  const lf = signed.subarray(0, V2_HEADER_MAX + 1).indexOf(0x0a);
  return lf < 0 ? undefined : { header: signed.subarray(0, lf), deflated: signed.subarray(lf + 1) };
}

/**
 * The inflated plan, or why not. Never more than `max` bytes are produced, whatever the input
 * claims (zlib stops at the cap), and nothing throws out of here.
 */
export function inflateBounded(deflated: Uint8Array, max: number): { ok: true; bytes: Uint8Array } | { ok: false; message: string } {
  try {
    // Output in one or two chunks (plans compress about 10-16×) rather than zlib's 16 KiB ones,
    // which are gathered and copied again: a 100,000-member plan inflates in about half the time.
    const chunkSize = Math.min(max, Math.max(64 * 1024, deflated.length * 16));
    return { ok: true, bytes: inflateRawSync(deflated, { maxOutputLength: max, chunkSize }) };
  } catch (e) {
    if (e instanceof RangeError) return { ok: false, message: `the plan inflates to more than ${max} bytes` };
    return { ok: false, message: `the plan does not inflate: ${e instanceof Error ? e.message : String(e)}` };
  }
}
