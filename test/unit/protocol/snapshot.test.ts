import { describe, expect, test } from 'bun:test';
import { canonicalJson } from '../../../src/protocol/canonical-json.ts';
import { keyId } from '../../../src/protocol/key-id.ts';
import {
  FORMAT_V1, MAX_SNAPSHOT_BYTES, REFUSAL_REASONS, SnapshotEncodeError, compareRevisions, contentHash, decodeSnapshot, encodeSnapshot,
  isRevision, revisionVerdict, type DecodeResult,
} from '../../../src/protocol/snapshot.ts';
import { keyPair, parsePayload, planFor, signedPayload } from './fixtures.ts';

const relay = keyPair();
const stranger = keyPair();
const plan = planFor('gw');
const ISSUED = Date.UTC(2026, 11, 1, 12, 0, 0);
// v1, the JSON envelope: these tests edit it as text (snapshot-v2.test.ts covers v2).
const good = encodeSnapshot({ node: 'gw', revision: '42', plan, issuedAt: ISSUED }, relay.privateKey, { format: 1 });
const opts = { publicKey: relay.publicKey, node: 'gw' };
const utf8 = (s: string) => new TextEncoder().encode(s);

function refused(r: DecodeResult): { reason: string; message: string } {
  if (r.ok) throw new Error('expected a refusal, got a snapshot');
  return { reason: r.reason, message: r.message };
}

/** A validly signed body for gw with `patch` applied, so only the check under test can fail. */
function signedBody(patch: Record<string, unknown>): Uint8Array {
  return signedPayload({ format: FORMAT_V1, node: 'gw', revision: '42', hash: contentHash(plan), plan, ...patch }, relay.privateKey);
}

describe('encodeSnapshot / decodeSnapshot', () => {
  test('round-trips a computed plan with its node, revision, hash and the exact bytes', () => {
    const r = decodeSnapshot(good, opts);
    if (!r.ok) throw new Error(r.message);
    expect(r.snapshot.node).toBe('gw');
    expect(r.snapshot.revision).toBe('42');
    expect(r.snapshot.hash).toBe(contentHash(plan));
    expect(r.snapshot.plan).toEqual(plan);
    expect(r.snapshot.payload).toEqual(good);
  });

  test('is deterministic: the same input gives the same bytes', () => {
    expect(encodeSnapshot({ node: 'gw', revision: 42n, plan: planFor('gw'), issuedAt: ISSUED }, relay.privateKey, { format: 1 })).toEqual(good);
  });

  test('carries its issue time in the signed body; a re-signature changes only that', () => {
    const r = decodeSnapshot(good, opts);
    if (!r.ok) throw new Error(r.message);
    expect(r.snapshot.issuedAt).toBe(ISSUED);
    expect(parsePayload(good).body['issuedAt']).toBe(ISSUED);
    const again = encodeSnapshot({ node: 'gw', revision: '42', plan, issuedAt: ISSUED + 1000 }, relay.privateKey, { format: 1 });
    expect(again).not.toEqual(good);
    const r2 = decodeSnapshot(again, opts);
    if (!r2.ok) throw new Error(r2.message);
    expect([r2.snapshot.revision, r2.snapshot.hash, r2.snapshot.issuedAt]).toEqual(['42', r.snapshot.hash, ISSUED + 1000]);
    // Without an explicit time the relay's clock is used.
    const before = Date.now();
    const now = decodeSnapshot(encodeSnapshot({ node: 'gw', revision: '42', plan, issuedAt: Date.now() }, relay.privateKey), opts);
    expect(now.ok && now.snapshot.issuedAt! >= before).toBeTrue();
  });

  test('the issue time cannot be moved without breaking the signature', () => {
    const text = new TextDecoder().decode(good);
    const moved = text.replace(`"issuedAt":${ISSUED}`, `"issuedAt":${ISSUED + 86_400_000}`);
    expect(moved).not.toBe(text);
    expect(refused(decodeSnapshot(utf8(moved), opts)).reason).toBe('bad-signature');
  });

  test('a body from before issue times decodes, with no issue time (the freshness rules treat it as infinitely old)', () => {
    const r = decodeSnapshot(signedBody({}), opts);
    if (!r.ok) throw new Error(r.message);
    expect(r.snapshot.issuedAt).toBeUndefined();
  });

  test('a signed issue time that is not whole non-negative milliseconds is refused', () => {
    for (const bad of [-1, 'yesterday', '2026-12-01T00:00:00Z', null, true]) {
      expect(refused(decodeSnapshot(signedBody({ issuedAt: bad }), opts))).toMatchObject({ reason: 'malformed' });
    }
    expect(refused(decodeSnapshot(signedBody({ issuedAt: -1 }), opts)).message).toContain('body.issuedAt');
  });

  test('the payload is canonical JSON of body, keyId and sig', () => {
    const text = new TextDecoder().decode(good);
    const p = parsePayload(good);
    expect(canonicalJson(p)).toBe(text);
    expect(Object.keys(p).sort()).toEqual(['body', 'keyId', 'sig']);
    expect(p.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(p.keyId).toBe(keyId(relay.publicKey));
    expect(Buffer.from(p.sig, 'base64')).toHaveLength(64);
    expect(p.body['format']).toBe(FORMAT_V1);
    expect(contentHash(plan)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('the returned payload is a copy, so reusing the receive buffer cannot change the cache', () => {
    const buf = new Uint8Array(good);
    const r = decodeSnapshot(buf, opts);
    buf.fill(0);
    expect(r.ok && r.snapshot.payload).toEqual(good);
  });

  test('a snapshot signed by another key is refused, naming both key ids', () => {
    const forged = encodeSnapshot({ node: 'gw', revision: '43', plan, issuedAt: Date.now() }, stranger.privateKey);
    const r = refused(decodeSnapshot(forged, opts));
    expect(r.reason).toBe('bad-signature');
    expect(r.message).toContain(keyId(stranger.publicKey));
    expect(r.message).toContain(keyId(relay.publicKey));
  });

  test('a forged snapshot claiming the trusted key id fails verification', () => {
    const forged = parsePayload(encodeSnapshot({ node: 'gw', revision: '43', plan, issuedAt: Date.now() }, stranger.privateKey, { format: 1 }));
    const r = refused(decodeSnapshot(utf8(canonicalJson({ ...forged, keyId: keyId(relay.publicKey) })), opts));
    expect(r.reason).toBe('bad-signature');
    expect(r.message).toContain('wrong key or altered content');
  });

  test('during a key rotation either trusted key is accepted', () => {
    const next = encodeSnapshot({ node: 'gw', revision: '43', plan, issuedAt: Date.now() }, stranger.privateKey);
    expect(decodeSnapshot(next, { node: 'gw', publicKey: [relay.publicKey, stranger.publicKey] }).ok).toBeTrue();
    expect(decodeSnapshot(good, { node: 'gw', publicKey: [relay.publicKey, stranger.publicKey] }).ok).toBeTrue();
    expect(refused(decodeSnapshot(good, { node: 'gw', publicKey: [] })).reason).toBe('bad-signature');
  });

  test('a tampered plan, revision or node breaks the signature', () => {
    const p = parsePayload(good);
    const planBody = p.body['plan'] as { failsafes: { inbound: unknown[] } };
    for (const body of [
      { ...p.body, plan: { ...planBody, failsafes: { ...planBody.failsafes, inbound: [] } } },
      { ...p.body, revision: '99' },
      { ...p.body, node: 'other', plan: { ...planBody, node: 'other' } },
    ]) {
      expect(refused(decodeSnapshot(utf8(canonicalJson({ ...p, body })), opts)).reason).toBe('bad-signature');
    }
  });

  test('a validly signed snapshot for another node is refused by this node', () => {
    const forOther = encodeSnapshot({ node: 'other', revision: '50', plan: planFor('other'), issuedAt: Date.now() }, relay.privateKey);
    expect(decodeSnapshot(forOther, { ...opts, node: 'other' }).ok).toBeTrue();
    const r = refused(decodeSnapshot(forOther, opts));
    expect(r.reason).toBe('wrong-node');
    expect(r.message).toBe('snapshot is for node "other", this is "gw"');
  });

  test('a missing or empty signature is "unsigned"', () => {
    const { body, keyId: k } = parsePayload(good);
    expect(refused(decodeSnapshot(utf8(canonicalJson({ body, keyId: k })), opts)).reason).toBe('unsigned');
    expect(refused(decodeSnapshot(utf8(canonicalJson({ body, keyId: k, sig: '' })), opts)).reason).toBe('unsigned');
  });

  test('a signature that is not 64 bytes of canonical base64 is a bad signature', () => {
    const p = parsePayload(good);
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    // The character before "==" carries 2 bits of data; setting one of its 4 padding bits decodes to the same bytes.
    const last = B64.indexOf(p.sig.at(-3)!);
    const nonCanonical = `${p.sig.slice(0, -3)}${B64[last | 1]}==`;
    expect(Buffer.from(nonCanonical, 'base64')).toEqual(Buffer.from(p.sig, 'base64'));
    for (const sig of ['AAAA', nonCanonical, p.sig.replace(/=+$/, ''), `${p.sig}\n`, p.sig.replace(/.$/, 'A')]) {
      expect(refused(decodeSnapshot(utf8(canonicalJson({ ...p, sig })), opts)).reason).toBe('bad-signature');
    }
  });

  test('a signed hash that does not match the plan is a hash mismatch', () => {
    const r = refused(decodeSnapshot(signedBody({ hash: `sha256:${'0'.repeat(64)}` }), opts));
    expect(r.reason).toBe('hash-mismatch');
    expect(r.message).toContain(contentHash(plan));
  });

  test('a signed but invalid plan is malformed, and the message names the field path', () => {
    const bad = { ...plan, endpoints: [{ ...plan.endpoints[0]!, name: 5 }] };
    const r = refused(decodeSnapshot(signedBody({ plan: bad, hash: contentHash(bad as never) }), opts));
    expect(r.reason).toBe('malformed');
    expect(r.message).toStartWith('body.plan.endpoints[0].name: ');
  });

  test('a signed plan for another node than the body says is malformed', () => {
    const other = planFor('other');
    const r = refused(decodeSnapshot(signedBody({ plan: other, hash: contentHash(other) }), opts));
    expect(r.reason).toBe('malformed');
    expect(r.message).toStartWith('body.plan.node: ');
  });

  test.each([
    ['format', { format: 'outpost.snapshot/v2' }, 'body.format: '],
    ['revision', { revision: '-1' }, 'body.revision: '],
    ['revision', { revision: '01' }, 'body.revision: '],
    ['revision', { revision: '9223372036854775808' }, 'body.revision: '],
    ['hash', { hash: 'md5:00' }, 'body.hash: '],
    ['an extra field', { extra: 1 }, 'body.extra: '],
  ])('a signed body with a bad %s is malformed', (_what, patch, prefix) => {
    const r = refused(decodeSnapshot(signedBody(patch), opts));
    expect(r.reason).toBe('malformed');
    expect(r.message).toStartWith(prefix);
  });

  test.each([
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['not JSON', utf8('{"body":')],
    ['empty', new Uint8Array(0)],
    ['a JSON array', utf8('[]')],
    ['JSON with a BOM', new Uint8Array([0xef, 0xbb, 0xbf, ...good])],
    ['pretty-printed', utf8(JSON.stringify(parsePayload(good), null, 1))],
    ['unsorted keys', utf8(`{"sig":${JSON.stringify(parsePayload(good).sig)},${new TextDecoder().decode(good).slice(1, -1).replace(/,"sig":.*$/, '')}}`)],
    ['carrying a float', utf8('{"body":{"x":1.5},"keyId":"k","sig":"s"}')],
    ['carrying an extra envelope field', utf8(canonicalJson({ ...parsePayload(good), z: 1 }))],
    ['carrying a key id that is not 16 hex digits', utf8(canonicalJson({ ...parsePayload(good), keyId: 'x'.repeat(100) }))],
  ])('a payload that is %s is malformed', (_what, payload) => {
    expect(refused(decodeSnapshot(payload, opts)).reason).toBe('malformed');
  });

  test('payloads over the size limit are refused unread', () => {
    const big = new Uint8Array(MAX_SNAPSHOT_BYTES + 1).fill(0x20);
    const r = refused(decodeSnapshot(big, opts));
    expect(r.reason).toBe('malformed');
    expect(r.message).toContain('limit');
  });

  test('refusals that happen before the plan is parsed are cheap even for a huge forged plan', () => {
    const hugePlan = { ...plan, endpoints: Array.from({ length: 5000 }, () => plan.endpoints[0]) };
    const forged = signedPayload({ format: FORMAT_V1, node: 'gw', revision: '1', hash: contentHash(hugePlan as never), plan: hugePlan }, stranger.privateKey);
    expect(refused(decodeSnapshot(forged, opts)).reason).toBe('bad-signature');
  });

  test('never throws, even for arguments of the wrong type', () => {
    expect(refused(decodeSnapshot('text' as never, opts)).reason).toBe('malformed');
    expect(refused(decodeSnapshot(null as never, opts)).reason).toBe('malformed');
    expect(decodeSnapshot(good, { node: 'gw', publicKey: 'not a key' as never }).ok).toBeFalse();
  });
});

describe('encodeSnapshot refuses relay-side bugs', () => {
  test.each([
    ['a revision that is not an int64', { node: 'gw', revision: '1.5', plan }, 'revision'],
    ['a negative revision', { node: 'gw', revision: -1n, plan }, 'revision'],
    ['a plan for another node', { node: 'other', revision: '1', plan }, 'the plan is for node "gw"'],
    ['an invalid node name', { node: 'Gw/x', revision: '1', plan }, 'node name'],
    ['an invalid plan', { node: 'gw', revision: '1', plan: { ...plan, policies: 'x' } as never }, 'plan.policies'],
    ['a plan with an undefined field', { node: 'gw', revision: '1', plan: { ...plan, extra: undefined } as never }, 'plan cannot be encoded: plan.extra: undefined is not allowed'],
    ['a fractional issue time', { node: 'gw', revision: '1', plan, issuedAt: 1.5 }, 'issuedAt'],
    ['a negative issue time', { node: 'gw', revision: '1', plan, issuedAt: -1 }, 'issuedAt'],
  ])('%s', (_what, input, message) => {
    const withTime = { issuedAt: ISSUED, ...input } as Parameters<typeof encodeSnapshot>[0];
    expect(() => encodeSnapshot(withTime, relay.privateKey)).toThrow(SnapshotEncodeError);
    expect(() => encodeSnapshot(withTime, relay.privateKey)).toThrow(message);
  });

  test('a public key cannot sign', () => {
    expect(() => encodeSnapshot({ node: 'gw', revision: '1', plan, issuedAt: Date.now() }, relay.publicKey)).toThrow('ed25519 private key');
  });
});

describe('revisions', () => {
  test('compare numerically beyond 2^53', () => {
    expect(compareRevisions('9', '10')).toBe(-1);
    expect(compareRevisions('9007199254740993', '9007199254740992')).toBe(1);
    expect(compareRevisions('9223372036854775807', '9223372036854775807')).toBe(0);
  });

  test('are non-negative int64 decimal strings without leading zeros', () => {
    for (const ok of ['0', '1', '42', '9223372036854775807']) expect(isRevision(ok)).toBeTrue();
    for (const bad of ['', '-1', '01', '1.0', '1e3', ' 1', '9223372036854775808', '99999999999999999999']) expect(isRevision(bad)).toBeFalse();
  });

  test('an agent applies newer snapshots, ignores redeliveries and refuses replays', () => {
    const held = { revision: '42', hash: 'sha256:a' };
    expect(revisionVerdict(undefined, held)).toBe('new');
    expect(revisionVerdict(held, { revision: '43', hash: 'sha256:a' })).toBe('new');
    expect(revisionVerdict(held, { revision: '42', hash: 'sha256:a' })).toBe('unchanged');
    expect(revisionVerdict(held, { revision: '42', hash: 'sha256:b' })).toBe('new');
    expect(revisionVerdict(held, { revision: '41', hash: 'sha256:b' })).toBe('stale');
    expect(REFUSAL_REASONS).toContain('stale');
    expect(REFUSAL_REASONS).toContain('expired');
  });
});
