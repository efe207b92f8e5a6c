/**
 * The v2 envelope: compressed plan, clear signed header. The signature is checked before
 * anything is inflated or parsed, inflation is capped, and v1 payloads (cached, from older
 * relays) still decode to the same snapshot.
 */
import { describe, expect, test } from 'bun:test';
import { canonicalBytes } from '../../../src/protocol/canonical-json.ts';
import { keyId } from '../../../src/protocol/key-id.ts';
import {
  MAX_PLAN_BYTES, canonicalPlan, claimedNode, contentHash, decodeSnapshot, decodeSnapshotHeader, encodeSnapshot, verifySnapshotSignature,
  type DecodeResult,
} from '../../../src/protocol/snapshot.ts';
import type { NodePlan } from '../../../src/plan/schema.ts';
import { deflate, keyPair, planFor, signedV2, v2Header } from './fixtures.ts';

const relay = keyPair();
const stranger = keyPair();
const plan = planFor('gw');
const ISSUED = Date.UTC(2026, 11, 1, 12, 0, 0);
const input = { node: 'gw', revision: '42', plan, issuedAt: ISSUED };
const good = encodeSnapshot(input, relay.privateKey);
const opts = { publicKey: relay.publicKey, node: 'gw' };
const planBytes = canonicalBytes(plan);
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function refused(r: DecodeResult): { reason: string; message: string } {
  if (r.ok) throw new Error('expected a refusal, got a snapshot');
  return { reason: r.reason, message: r.message };
}

/** A relay-signed v2 payload for gw whose header and compressed plan the test chooses. */
function signed(fields: Record<string, unknown>, deflated: Uint8Array = deflate(planBytes), key = relay.privateKey): Uint8Array {
  return signedV2(v2Header({ hash: contentHash(plan), issuedAt: ISSUED, ...fields }), deflated, key);
}

/** 1,000 policies × 10 rules, built from the fixture's rules with distinct ports: the issue's large node. */
function largePlan(): NodePlan {
  const base = plan.policies[0]!;
  const rule = base.ingress[0]!;
  const policies = Array.from({ length: 1000 }, (_, i) => ({
    ...base,
    key: `default/p${i}`,
    name: `p${i}`,
    ingress: Array.from({ length: 6 }, (_, k) => ({ ...rule, dst: { ...rule.dst, ports: [[1000 + i * 10 + k, 1000 + i * 10 + k]] as [number, number][] }, origin: `policy default/p${i} ingress[${k}]` })),
    egress: Array.from({ length: 4 }, (_, k) => ({ ...rule, src: {}, dst: { nets: [`198.18.${i % 250}.${k * 64}/26`] }, origin: `policy default/p${i} egress[${k}]` })),
  }));
  return { ...plan, policies };
}

describe('v2 envelope', () => {
  test('is what encodeSnapshot writes: a clear signed header, then the compressed plan', () => {
    const [head, header] = text(good).split('\n');
    expect(head).toBe(`outpost.snapshot/v2 ${keyId(relay.publicKey)} ${head!.split(' ')[2]}`);
    expect(Buffer.from(head!.split(' ')[2]!, 'base64')).toHaveLength(64);
    expect(JSON.parse(header!)).toEqual({ format: 'outpost.snapshot/v2', hash: contentHash(plan), issuedAt: ISSUED, node: 'gw', revision: '42' });
  });

  test('round-trips to the same snapshot a v1 payload of the same input gives', () => {
    const v1 = encodeSnapshot(input, relay.privateKey, { format: 1 });
    const [a, b] = [decodeSnapshot(good, opts), decodeSnapshot(v1, opts)];
    if (!a.ok || !b.ok) throw new Error('both must decode');
    const { payload: pa, ...sa } = a.snapshot;
    const { payload: pb, ...sb } = b.snapshot;
    expect(sa).toEqual(sb);
    expect(sa.keyId).toBe(keyId(relay.publicKey));
    expect(pa).toEqual(good);
    expect(pb).toEqual(v1);
  });

  test('is deterministic, and a plan handed over pre-serialised gives the same bytes', () => {
    expect(encodeSnapshot({ ...input, revision: 42n, plan: planFor('gw') }, relay.privateKey)).toEqual(good);
    const canonical = canonicalPlan(plan);
    expect(canonical.hash).toBe(contentHash(plan));
    expect(encodeSnapshot({ ...input, canonical }, relay.privateKey, { checkPlan: false })).toEqual(good);
    expect(encodeSnapshot({ ...input, canonical }, relay.privateKey, { format: 1 })).toEqual(encodeSnapshot(input, relay.privateKey, { format: 1 }));
    // The relay's memo (policies shared between nodes by identity) changes nothing in the bytes.
    const memo = new WeakMap<object, string>();
    canonicalPlan(planFor('other'), memo);
    expect(canonicalPlan(plan, memo)).toEqual(canonical);
    expect(encodeSnapshot({ ...input, canonical: canonicalPlan(plan, memo) }, relay.privateKey)).toEqual(good);
  });

  test('a 1,000-policy × 10-rule node stays far below Mosquitto 2.1\'s 2,000,000-byte default packet limit', () => {
    const big = largePlan();
    const v1 = encodeSnapshot({ ...input, plan: big }, relay.privateKey, { format: 1 });
    const v2 = encodeSnapshot({ ...input, plan: big }, relay.privateKey);
    expect(v1.length).toBeGreaterThan(1_000_000);
    expect(v2.length).toBeLessThan(v1.length / 8);
    const r = decodeSnapshot(v2, opts);
    expect(r.ok && r.snapshot.plan.policies.length).toBe(1000);
  });

  test('any change to the header or the compressed bytes breaks the signature', () => {
    const lf = good.indexOf(0x0a);
    for (const at of [lf + 10, lf + 40, good.indexOf(0x0a, lf + 1) + 5, good.length - 1]) {
      const bad = new Uint8Array(good);
      bad[at] = bad[at]! ^ 1;
      expect(refused(decodeSnapshot(bad, opts)).reason).toBe('bad-signature');
      expect(verifySnapshotSignature(bad, relay.publicKey)).toBeFalse();
    }
    expect(verifySnapshotSignature(good, relay.publicKey)).toBeTrue();
    expect(verifySnapshotSignature(encodeSnapshot(input, relay.privateKey, { format: 1 }), relay.publicKey)).toBeTrue();
    expect(verifySnapshotSignature(good, stranger.publicKey)).toBeFalse();
  });

  test('the signature is checked before inflation: a forged deflate bomb is a bad signature, a signed one stops at the cap', () => {
    const bomb = deflate(new Uint8Array(MAX_PLAN_BYTES + 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(refused(decodeSnapshot(signed({}, bomb, stranger.privateKey), opts)).reason).toBe('bad-signature');
    const r = refused(decodeSnapshot(signed({}, bomb), opts));
    expect(r.reason).toBe('malformed');
    expect(r.message).toContain(`inflates to more than ${MAX_PLAN_BYTES} bytes`);
  });

  test('signed bytes that do not inflate, or inflate to something else, are refused', () => {
    expect(refused(decodeSnapshot(signed({}, new Uint8Array([1, 2, 3, 4])), opts)).message).toContain('does not inflate');
    expect(refused(decodeSnapshot(signed({}, deflate(planBytes).subarray(0, 20)), opts)).reason).toBe('malformed');
    expect(refused(decodeSnapshot(signed({}, deflate(canonicalBytes(planFor('other')))), opts)).reason).toBe('hash-mismatch');
  });

  test('the inflated plan must be canonical JSON, valid, and for the header\'s node', () => {
    const spaced = Buffer.from(JSON.stringify(JSON.parse(Buffer.from(planBytes).toString()), null, 1));
    const r1 = refused(decodeSnapshot(signed({ hash: `sha256:${new Bun.CryptoHasher('sha256').update(spaced).digest('hex')}` }, deflate(spaced)), opts));
    expect(r1).toMatchObject({ reason: 'malformed', message: expect.stringContaining('not canonical') });
    const bad = { ...plan, endpoints: [{ ...plan.endpoints[0]!, name: 5 }] };
    const r2 = refused(decodeSnapshot(signed({ hash: contentHash(bad as never) }, deflate(canonicalBytes(bad))), opts));
    expect(r2.message).toStartWith('body.plan.endpoints[0].name: ');
    const other = planFor('other');
    expect(refused(decodeSnapshot(signed({ hash: contentHash(other) }, deflate(canonicalBytes(other))), opts)).message).toStartWith('body.plan.node: ');
  });

  test.each([
    ['a missing issue time', { issuedAt: undefined }, 'body.issuedAt'],
    ['an extra field', { extra: 1 }, 'body.extra'],
    ['a v1 format', { format: 'outpost.snapshot/v1' }, 'body.format'],
    ['a bad revision', { revision: '01' }, 'body.revision'],
  ])('a signed header with %s is malformed', (_what, patch, path) => {
    const r = refused(decodeSnapshot(signed(patch), opts));
    expect(r.reason).toBe('malformed');
    expect(r.message).toStartWith(`${path}: `);
  });

  test('a signed header that is not canonical, or does not end in time, is malformed', () => {
    const spaced = `{"format": "outpost.snapshot/v2","hash":"${contentHash(plan)}","issuedAt":${ISSUED},"node":"gw","revision":"42"}`;
    expect(refused(decodeSnapshot(signedV2(spaced, deflate(planBytes), relay.privateKey), opts)).message).toContain('header is not canonical');
    const long = signedV2(`{"pad":"${'x'.repeat(2000)}"}`, deflate(planBytes), relay.privateKey);
    expect(refused(decodeSnapshot(long, opts)).message).toContain('does not end within');
  });

  test('a validly signed snapshot for another node is refused by this node, header and all', () => {
    const forOther = encodeSnapshot({ ...input, node: 'other', plan: planFor('other') }, relay.privateKey);
    expect(refused(decodeSnapshot(forOther, opts)).reason).toBe('wrong-node');
    expect(decodeSnapshotHeader(forOther, opts)).toMatchObject({ ok: false, reason: 'wrong-node' });
  });

  test('v1 and v2 signatures cannot stand in for each other', () => {
    const v1 = text(encodeSnapshot(input, relay.privateKey, { format: 1 }));
    const body = v1.slice('{"body":'.length, v1.indexOf(',"keyId":'));
    const sig = /"sig":"([^"]+)"/.exec(v1)![1]!;
    const asV2 = Buffer.from(`outpost.snapshot/v2 ${keyId(relay.publicKey)} ${sig}\n${body}`, 'latin1');
    expect(refused(decodeSnapshot(asV2, opts)).reason).toBe('malformed');
    const [head] = text(good).split('\n');
    const v2sig = head!.split(' ')[2]!;
    const v2signed = text(good).slice(head!.length + 1);
    const asV1 = Buffer.from(`{"body":${v2signed},"keyId":"${keyId(relay.publicKey)}","sig":"${v2sig}"}`, 'latin1');
    expect(refused(decodeSnapshot(asV1, opts)).reason).toBe('malformed');
  });

  test('a format this agent does not read is named; a broken v2 head is malformed', () => {
    const v3 = Buffer.from(`outpost.snapshot/v3 ${keyId(relay.publicKey)} x\nwhatever`);
    expect(refused(decodeSnapshot(v3, opts))).toMatchObject({ reason: 'malformed', message: expect.stringContaining('outpost.snapshot/v3') });
    const cut = Buffer.from(text(good).replace(/ [A-Za-z0-9+/]{86}==\n/, ' AAAA==\n'), 'latin1');
    expect(refused(decodeSnapshot(cut, opts)).message).toContain('not a signed outpost.snapshot/v2 snapshot');
  });

  test('the header can be read (verified) without inflating the plan', () => {
    const garbage = signed({ revision: '77' }, new Uint8Array([0xff, 0xfe]));
    expect(decodeSnapshotHeader(garbage, opts)).toEqual({ ok: true, header: { node: 'gw', revision: '77', hash: contentHash(plan), issuedAt: ISSUED, keyId: keyId(relay.publicKey) } });
    expect(decodeSnapshotHeader(signed({}, deflate(planBytes), stranger.privateKey), opts)).toMatchObject({ ok: false, reason: 'bad-signature' });
    const v1 = decodeSnapshotHeader(encodeSnapshot(input, relay.privateKey, { format: 1 }), opts);
    expect(v1).toEqual({ ok: true, header: { node: 'gw', revision: '42', hash: contentHash(plan), issuedAt: ISSUED, keyId: keyId(relay.publicKey) } });
  });

  test('the claimed node is read from either envelope, and never throws', () => {
    expect(claimedNode(good)).toBe('gw');
    expect(claimedNode(encodeSnapshot(input, relay.privateKey, { format: 1 }))).toBe('gw');
    for (const junk of [new Uint8Array(0), Buffer.from('outpost.snapshot/v2 x'), Buffer.from('[[[['), new Uint8Array([0xff])]) expect(claimedNode(junk)).toBeUndefined();
  });

  test('the relay can skip the schema check for its own plans; agents never do', () => {
    const invalid = { ...plan, policies: 'x' } as never;
    expect(() => encodeSnapshot({ ...input, plan: invalid }, relay.privateKey)).toThrow('plan.policies');
    const unchecked = encodeSnapshot({ ...input, plan: invalid }, relay.privateKey, { checkPlan: false });
    expect(refused(decodeSnapshot(unchecked, opts)).message).toStartWith('body.plan.policies: ');
  });
});
