/**
 * decodeSnapshot must refuse, never throw and never accept, whatever arrives: random bytes, and
 * valid payloads with bytes flipped, cut, inserted, or values swapped in the parsed structure.
 * Seeded, so a failure names the seed that reproduces it.
 */
import { describe, expect, test } from 'bun:test';
import { canonicalBytes, canonicalJson } from '../../../src/protocol/canonical-json.ts';
import { DECODE_REFUSALS, FORMAT_V1, contentHash, decodeSnapshot, encodeSnapshot, type DecodeResult } from '../../../src/protocol/snapshot.ts';
import { deflate, keyPair, planFor, prng, signedPayload, signedV2, v2Header } from './fixtures.ts';

const relay = keyPair();
// v1 (JSON): the structural mutations below parse and re-serialise it; v2 is fuzzed at the byte level.
const good = encodeSnapshot({ node: 'gw', revision: '7', plan: planFor('gw'), issuedAt: Date.now() }, relay.privateKey, { format: 1 });
const goodV2 = encodeSnapshot({ node: 'gw', revision: '7', plan: planFor('gw'), issuedAt: Date.now() }, relay.privateKey);
const opts = { publicKey: relay.publicKey, node: 'gw' };

function decodeChecked(payload: Uint8Array, seed: number, mayAccept = false, original = good): DecodeResult {
  let r: DecodeResult;
  try {
    r = decodeSnapshot(payload, opts);
  } catch (e) {
    throw new Error(`seed ${seed}: decodeSnapshot threw ${String(e)}`);
  }
  if (r.ok && !mayAccept) {
    // Accepting is only right for the exact signed bytes.
    expect(`seed ${seed}: ${Buffer.from(r.snapshot.payload).equals(Buffer.from(original))}`).toBe(`seed ${seed}: true`);
  } else if (!r.ok) {
    expect(DECODE_REFUSALS).toContain(r.reason);
    expect(r.message.length).toBeGreaterThan(0);
  }
  return r;
}

const ODD_VALUES: unknown[] = [null, true, false, 0, -1, 65536, 9007199254740991, '', 'x', '\ud800', [], {}, [null], { node: 'gw' }, 'gw', 'sha256:', '42'];

/** Replaces one randomly chosen value somewhere in the structure. */
function mutateValue(value: unknown, rand: () => number): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || rand() < 0.15) return ODD_VALUES[Math.floor(rand() * ODD_VALUES.length)];
    const i = Math.floor(rand() * value.length);
    const copy = [...value];
    if (rand() < 0.1) copy.splice(i, 1);
    else copy[i] = mutateValue(copy[i], rand);
    return copy;
  }
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    if (keys.length === 0 || rand() < 0.15) return ODD_VALUES[Math.floor(rand() * ODD_VALUES.length)];
    const k = keys[Math.floor(rand() * keys.length)]!;
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    if (rand() < 0.1) delete copy[k];
    else copy[k] = mutateValue(copy[k], rand);
    return copy;
  }
  return ODD_VALUES[Math.floor(rand() * ODD_VALUES.length)];
}

describe('decodeSnapshot under fuzzing', () => {
  test('random bytes are refused as malformed', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      const bytes = new Uint8Array(Math.floor(rand() * 512));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
      expect(decodeChecked(bytes, seed)).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });

  test('random printable JSON-ish text is refused', () => {
    const alphabet = '{}[]",:0123456789.-truefalsn\\ bodykeyIdsig';
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      const text = Array.from({ length: Math.floor(rand() * 200) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
      decodeChecked(new TextEncoder().encode(text), seed);
    }
  });

  test.each([['v1', good], ['v2', goodV2]] as const)('valid %s payloads with bytes flipped, cut or inserted are refused', (_format, original) => {
    for (let seed = 1; seed <= 400; seed++) {
      const rand = prng(seed);
      let bytes = new Uint8Array(original);
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * bytes.length);
        const kind = rand();
        if (kind < 0.5) bytes[at] = bytes[at]! ^ (1 << Math.floor(rand() * 8));
        else if (kind < 0.7) bytes = bytes.slice(0, at);
        else if (kind < 0.85) bytes = new Uint8Array([...bytes.slice(0, at), Math.floor(rand() * 256), ...bytes.slice(at)]);
        else bytes = new Uint8Array([...bytes.slice(0, at), ...bytes.slice(at + 1)]);
      }
      if (Buffer.from(bytes).equals(Buffer.from(original))) continue;
      expect(decodeChecked(bytes, seed, false, original).ok).toBeFalse();
    }
  });

  test('valid payloads with values swapped in the structure (still canonical JSON) are refused', () => {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(good));
    const seen = new Set<string>();
    for (let seed = 1; seed <= 400; seed++) {
      const rand = prng(seed);
      const text = canonicalJson(mutateValue(parsed, rand));
      if (text === new TextDecoder().decode(good)) continue;
      const r = decodeChecked(new TextEncoder().encode(text), seed);
      expect(r.ok).toBeFalse();
      if (!r.ok) seen.add(r.reason);
    }
    // The mutations reach past the parser: the signature and envelope checks see them too.
    expect(seen.has('bad-signature')).toBeTrue();
    expect(seen.has('malformed')).toBeTrue();
    expect(seen.has('unsigned')).toBeTrue();
  });

  test('validly signed, correctly hashed but mutated plans are parsed without throwing', () => {
    const plan = planFor('gw');
    const reasons = new Set<string>();
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      const mutated = mutateValue(plan, rand);
      let hash: string;
      try {
        hash = contentHash(mutated as never);
      } catch {
        continue;
      }
      const payload = signedPayload({ format: FORMAT_V1, node: 'gw', revision: '8', hash, plan: mutated }, relay.privateKey);
      const r = decodeChecked(payload, seed, true);
      reasons.add(r.ok ? 'ok' : r.reason);
      if (!r.ok) expect(r.message).toMatch(/^body\.plan/);
    }
    expect(reasons.has('malformed')).toBeTrue();
  });

  test('validly signed v2 payloads with random or mutated compressed bytes are refused without throwing', () => {
    const planText = new TextDecoder().decode(canonicalBytes(planFor('gw')));
    const header = v2Header({ revision: '8', hash: contentHash(planFor('gw')) });
    const reasons = new Set<string>();
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      let deflated: Uint8Array;
      if (rand() < 0.5) {
        deflated = new Uint8Array(Math.floor(rand() * 300));
        for (let i = 0; i < deflated.length; i++) deflated[i] = Math.floor(rand() * 256);
      } else {
        deflated = deflate(planText);
        const at = Math.floor(rand() * deflated.length);
        deflated[at] = deflated[at]! ^ (1 << Math.floor(rand() * 8));
      }
      const payload = signedV2(header, deflated, relay.privateKey);
      const r = decodeChecked(payload, seed, true);
      reasons.add(r.ok ? 'ok' : r.reason);
    }
    expect(reasons.has('malformed')).toBeTrue();
    expect(reasons.has('hash-mismatch')).toBeTrue();
  });
});
