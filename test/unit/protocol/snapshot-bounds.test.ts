/**
 * Nothing unauthenticated is parsed: forged snapshots of any size or shape are refused after at
 * most a byte scan and one ed25519 verify, never a JSON.parse (counted by wrapping JSON.parse).
 * On the decoder before this change every payload was JSON.parsed (and re-encoded) first.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { jsonDepthExceeds } from '../../../src/protocol/canonical-json.ts';
import { keyId } from '../../../src/protocol/key-id.ts';
import { MAX_SNAPSHOT_BYTES, decodeSnapshot, encodeSnapshot, type DecodeResult } from '../../../src/protocol/snapshot.ts';
import { keyPair, planFor } from './fixtures.ts';

const relay = keyPair();
const opts = { publicKey: relay.publicKey, node: 'gw' };
const latin = (s: string) => new TextEncoder().encode(s);
const SIG = `${'A'.repeat(86)}==`;

let parses = 0;
const realParse = JSON.parse;
beforeEach(() => {
  parses = 0;
  JSON.parse = ((...a: Parameters<typeof JSON.parse>) => (parses++, realParse(...a))) as typeof JSON.parse;
});
afterEach(() => {
  JSON.parse = realParse;
});

const reason = (r: DecodeResult) => (r.ok ? 'ok' : r.reason);

/** `{"body":<body>,"keyId":"…","sig":"…"}` around `body` bytes: the canonical envelope shape. */
function envelope(body: Uint8Array, signer = keyId(relay.publicKey)): Uint8Array {
  const head = latin('{"body":');
  const tail = latin(`,"keyId":"${signer}","sig":"${SIG}"}`);
  const out = new Uint8Array(head.length + body.length + tail.length);
  out.set(head, 0);
  out.set(body, head.length);
  out.set(tail, head.length + body.length);
  return out;
}

describe('snapshot decoding is bounded', () => {
  test('a forged 15 MiB snapshot in the canonical envelope is refused by its signature, unparsed', () => {
    const body = new Uint8Array(15 * 1024 * 1024).fill(0x20);
    body[0] = 0x7b;
    body[body.length - 1] = 0x7d;
    const r = decodeSnapshot(envelope(body), opts);
    expect(reason(r)).toBe('bad-signature');
    expect(parses).toBe(0);
  });

  test('a forged 15 MiB v2 snapshot is refused by its signature, neither inflated nor parsed', () => {
    const head = latin(`outpost.snapshot/v2 ${keyId(relay.publicKey)} ${SIG}\n{"format":"outpost.snapshot/v2"}\n`);
    const payload = new Uint8Array(15 * 1024 * 1024);
    payload.set(head);
    expect(reason(decodeSnapshot(payload, opts))).toBe('bad-signature');
    expect(parses).toBe(0);
  });

  test('a forged body nested millions deep is refused by its signature, unparsed', () => {
    const n = 4 * 1024 * 1024;
    const body = new Uint8Array(2 * n);
    body.fill(0x5b, 0, n);
    body.fill(0x5d, n);
    expect(reason(decodeSnapshot(envelope(body), opts))).toBe('bad-signature');
    expect(parses).toBe(0);
  });

  test('an unknown signer is refused unparsed', () => {
    expect(reason(decodeSnapshot(envelope(latin('{}'), '0123456789abcdef'), opts))).toBe('bad-signature');
    expect(parses).toBe(0);
  });

  test('a large payload without the envelope shape is refused unparsed', () => {
    const nested = new Uint8Array(8 * 1024 * 1024).fill(0x5b);
    const r = decodeSnapshot(nested, opts);
    expect(reason(r)).toBe('malformed');
    expect(parses).toBe(0);
  });

  test('a small deeply nested payload is refused by a byte scan, unparsed', () => {
    const r = decodeSnapshot(latin(`${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}`), opts);
    expect(reason(r)).toBe('malformed');
    if (!r.ok) expect(r.message).toContain('nested deeper');
    expect(parses).toBe(0);
  });

  test('a genuine snapshot is still accepted (parsed once it verified)', () => {
    const good = encodeSnapshot({ node: 'gw', revision: '7', plan: planFor('gw'), issuedAt: Date.now() }, relay.privateKey);
    expect(reason(decodeSnapshot(good, opts))).toBe('ok');
  });

  test('oversized payloads are refused by length alone', () => {
    expect(reason(decodeSnapshot(new Uint8Array(MAX_SNAPSHOT_BYTES + 1), opts))).toBe('malformed');
    expect(parses).toBe(0);
  });
});

describe('jsonDepthExceeds', () => {
  test('counts only structure, not brackets inside strings', () => {
    expect(jsonDepthExceeds(latin('[[["[[[[[[[[["]]]'), 3)).toBe(false);
    expect(jsonDepthExceeds(latin('[[[["\\"[[[["]]]]'), 3)).toBe(true);
    expect(jsonDepthExceeds(latin('{"a":{"b":[1]}}'), 3)).toBe(false);
    expect(jsonDepthExceeds(latin('{"a":{"b":[[1]]}}'), 3)).toBe(true);
  });
});
