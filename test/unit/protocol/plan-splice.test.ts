/**
 * Decoding from the held snapshot (plan-splice.ts) must give exactly what the full decode gives:
 * the same plan for every accepted payload, the same refusal (reason and message) for every
 * refused one. Random member edits of a large set, then hostile bytes signed with the relay's
 * key spliced where members go, each against the full decode of the same payload.
 */
import { describe, expect, test } from 'bun:test';
import { canonicalBytes, canonicalJson } from '../../../src/protocol/canonical-json.ts';
import { commonPrefix, commonSuffix } from '../../../src/protocol/plan-splice.ts';
import { planLayout } from '../../../src/protocol/plan-parts.ts';
import { contentHash, decodeSnapshot, encodeSnapshot, type DecodeResult, type Snapshot } from '../../../src/protocol/snapshot.ts';
import { sha256 } from '../../../src/protocol/snapshot-format.ts';
import type { NodePlan } from '../../../src/plan/schema.ts';
import { deflate, keyPair, planFor, prng, signedV2, v2Header } from './fixtures.ts';

const relay = keyPair();
const opts = { publicKey: relay.publicKey, node: 'gw' };
const ISSUED = Date.UTC(2026, 11, 1, 12, 0, 0);
const base = planFor('gw');
const host = (i: number) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;

/** The fixture's plan with a large first set, an empty one and a v6 one, so edits have room. */
function withSets(v4: string[], v6: string[] = ['fd00:8::/64', 'fd00:9::1/128'], empty: string[] = []): NodePlan {
  const first = base.ipSets[0]!;
  return { ...base, ipSets: [{ ...first, v4, v6 }, { id: 's-empty', selector: "x == 'y'", v4: empty, v6: [] }, ...base.ipSets.slice(1)] };
}

let revision = 1;
const encode = (plan: NodePlan) => encodeSnapshot({ node: 'gw', revision: String(revision++), plan, issuedAt: ISSUED }, relay.privateKey);

/** A relay-signed v2 payload around any plan bytes (canonical or not), hash correct. */
function signedBytes(bytes: Uint8Array): Uint8Array {
  return signedV2(v2Header({ hash: sha256(bytes), issuedAt: ISSUED, revision: String(revision++) }), deflate(bytes), relay.privateKey);
}

function ok(r: DecodeResult): Snapshot {
  if (!r.ok) throw new Error(`refused: ${r.reason}: ${r.message}`);
  return r.snapshot;
}

/** Decodes `payload` from `held` and in full; both must agree. True when the splice was taken. */
function agree(held: Snapshot, payload: Uint8Array): { r: DecodeResult; spliced: boolean } {
  const fast = decodeSnapshot(payload, { ...opts, previous: held });
  const full = decodeSnapshot(payload, opts);
  if (full.ok) {
    expect(fast.ok).toBe(true);
    if (!fast.ok) throw new Error(fast.message);
    expect(fast.snapshot.plan).toEqual(full.snapshot.plan);
    expect(fast.snapshot.payload).toEqual(new Uint8Array(payload));
    expect({ ...fast.snapshot, plan: undefined }).toEqual({ ...full.snapshot, plan: undefined });
    // Only a spliced plan shares its untouched parts with the held one.
    return { r: fast, spliced: fast.snapshot.plan.endpoints === held.plan.endpoints };
  }
  expect(fast).toEqual(full);
  return { r: fast, spliced: false };
}

/** `text` with `target` replaced by each of `edits`, decoded both ways (agree); true when any was spliced. */
function agreeOnEach(held: Snapshot, text: string, target: string, edits: readonly string[]): boolean {
  let splicedSome = false;
  for (const e of edits) {
    if (agree(held, signedBytes(new TextEncoder().encode(text.replace(target, e)))).spliced) splicedSome = true;
  }
  return splicedSome;
}

describe('decoding from the held snapshot', () => {
  test('random member edits of a sorted 5,000-member set: same plan as the full decode, and spliced', () => {
    const rand = prng(12);
    const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
    let members = sorted(Array.from({ length: 5000 }, (_, i) => host(i * 3)));
    let v6 = ['fd00:8::/64', 'fd00:9::1/128'];
    let held = ok(decodeSnapshot(encode(withSets(members, v6)), opts));
    let spliced = 0;
    for (let step = 0; step < 300; step++) {
      const k = Math.floor(rand() * 5);
      const at = Math.floor(rand() * members.length);
      const next = [...members];
      if (k === 0) next.push(host(Math.floor(rand() * 100_000)));
      else if (k === 1 && next.length) next.splice(at, 1);
      else if (k === 2 && next.length) next[at] = host(Math.floor(rand() * 100_000));
      else if (k === 3) next.splice(at, Math.floor(rand() * 20), ...Array.from({ length: Math.floor(rand() * 20) }, () => host(Math.floor(rand() * 100_000))));
      else next.push(rand() < 0.5 ? '1.0.0.0/8' : '9.0.0.0/8'); // at the very start or end
      const nextMembers = sorted(next);
      const nextV6 = step % 17 === 0 ? [...v6, `fd00:${step}::/64`] : v6;
      const { r, spliced: s } = agree(held, encode(withSets(nextMembers, nextV6)));
      // A step that changes one list only is spliced; one that changes two is decoded in full.
      expect(s).toBe(nextV6 === v6);
      held = ok(r);
      members = nextMembers;
      v6 = nextV6;
      if (s) spliced++;
    }
    expect(spliced).toBe(300 - 18);
    // And the chain of splices ends where a full decode of the last payload does.
    expect(held.plan).toEqual(withSets(members, v6));
  });

  test('an unsorted list is decoded in full (a member\'s text would not say where it is), and correctly', () => {
    const members = [host(5), host(1), host(3), host(1)];
    let held = ok(decodeSnapshot(encode(withSets(members)), opts));
    for (const next of [[host(5), host(1), host(4), host(1)], [host(5), host(1), host(4)], [host(1), host(4), host(5)], [host(1), host(2), host(4), host(5)]]) {
      const { r, spliced } = agree(held, encode(withSets(next)));
      held = ok(r);
      // Only once the held list is sorted can the next change be spliced.
      expect(spliced).toBe(next.length === 4 && next[1] === host(2));
    }
  });

  test('an empty list filled and emptied again, a list emptied whole, the same bytes again', () => {
    const members = [host(1), host(2), host(3)];
    let held = ok(decodeSnapshot(encode(withSets(members)), opts));
    for (const plan of [withSets(members, undefined, [host(5)]), withSets(members, undefined, []), withSets([]), withSets([host(4)]), withSets([host(4)])]) {
      const { r, spliced } = agree(held, encode(plan));
      expect(spliced).toBe(true);
      held = ok(r);
      expect(held.plan).toEqual(plan);
    }
  });

  test('a change outside the member lists, or in two lists, is decoded in full', () => {
    const members = Array.from({ length: 100 }, (_, i) => host(i)).sort();
    const held = ok(decodeSnapshot(encode(withSets(members)), opts));
    const policy = { ...withSets(members), failsafes: { inbound: [{ protocol: 'tcp' as const, port: 2222 }], outbound: [] } };
    expect(agree(held, encode(policy)).spliced).toBe(false);
    expect(agree(held, encode(withSets([...members, host(500)].sort(), ['fd00:1::/64']))).spliced).toBe(false);
    // (The same member change alone is spliced: what makes the two above full is the other change.)
    expect(agree(held, encode(withSets([...members, host(500)].sort()))).spliced).toBe(true);
    const renamed = withSets(members);
    renamed.ipSets[0] = { ...renamed.ipSets[0]!, selector: "role == 'other'" };
    expect(agree(held, encode(renamed)).spliced).toBe(false);
  });

  test('hostile bytes in place of members: refused or accepted exactly as the full decode does', () => {
    const members = Array.from({ length: 50 }, (_, i) => host(i)).sort();
    const plan = withSets(members);
    const held = ok(decodeSnapshot(encode(plan), opts));
    const text = new TextDecoder().decode(canonicalBytes(plan));
    const first = `"${host(10)}"`;
    expect(text.includes(first)).toBe(true);
    const hostile = [
      '"x"', // fails the member schema (too short)
      `"${'1'.repeat(44)}"`, // too long
      `"${host(10)}","${host(10)}"`, // a duplicate: valid, as in the full decode
      `"${host(10)}" `, // whitespace: not canonical
      `"${host(10)}",`, // a dangling comma
      '1', // not a string
      'null',
      `"${host(10)}"],"v5":["${host(11)}"`, // breaks out of the list
      `"${host(10)}"]}],"extra":[{"a":["b"`, // breaks out of the plan's structure
      `"\\u0031${host(10).slice(1)}"`, // an escape where none is needed: not canonical
      `"\\u001Fab"`, // upper-case hex: as long as the canonical spelling, and not it
      `"19\u00e9.18.0.10/32"`, // non-ASCII
      '"198.18.0.10/32\\"', // an escaped quote eats the closing one
      '', // the member removed together with its comma? no: a double comma
      `"${host(10)}","${'\\\\'.repeat(3)}x"`, // backslashes
    ];
    // The valid ones (a duplicate) went through the splice path, the rest were refused by the full decode.
    expect(agreeOnEach(held, text, first, hostile)).toBe(true);
  });

  test('members with quotes, commas, brackets and backslashes: every edit next to them agrees with the full decode', () => {
    const odd = ['ab",', '","x', 'a\\b', 'xy\\', '\\",', '[",', '"]x', ',,,', 'q","r', '\u0001ab', 'zz"'];
    const base = [...odd, host(1), host(2), host(3)].sort();
    const held = ok(decodeSnapshot(encode(withSets(base)), opts));
    let spliced = 0;
    for (let i = 0; i <= base.length; i++) {
      for (const edit of [(l: string[]) => l.splice(i, 0, `${base[i] ?? 'zzz'}!`), (l: string[]) => l.splice(i, 1), (l: string[]) => l.splice(i, 1, `${base[i] ?? 'zz'}"x`)]) {
        const next = [...base];
        edit(next);
        if (agree(held, encode(withSets(next))).spliced) spliced++;
      }
    }
    expect(spliced).toBeGreaterThan(base.length);
  });

  test('a held snapshot for other bytes than its basis is never trusted beyond the hash', () => {
    const held = ok(decodeSnapshot(encode(withSets([host(1), host(2)])), opts));
    // Correct hash, wrong signer: refused before anything is compared with the basis.
    const stranger = keyPair();
    const bytes = canonicalBytes(withSets([host(1), host(2), host(3)]));
    const forged = signedV2(v2Header({ hash: sha256(bytes), issuedAt: ISSUED }), deflate(bytes), stranger.privateKey);
    expect(decodeSnapshot(forged, { ...opts, previous: held })).toMatchObject({ ok: false, reason: 'bad-signature' });
    // A hash that does not match the bytes: refused as in the full decode.
    const wrongHash = signedV2(v2Header({ hash: contentHash(withSets([host(9)])), issuedAt: ISSUED }), deflate(bytes), relay.privateKey);
    expect(decodeSnapshot(wrongHash, { ...opts, previous: held })).toMatchObject({ ok: false, reason: 'hash-mismatch' });
  });
});

describe('common prefix and suffix', () => {
  test('match a byte-by-byte reference across chunk boundaries', () => {
    const rand = prng(7);
    for (let t = 0; t < 200; t++) {
      const n = Math.floor(rand() * 70_000);
      const a = new Uint8Array(n).map(() => Math.floor(rand() * 3));
      const b = a.slice();
      const cut = Math.floor(rand() * (n + 1));
      const c = rand() < 0.5 ? b.subarray(0, cut) : new Uint8Array([...b.subarray(0, cut), 9, ...b.subarray(cut)]);
      let p = 0;
      while (p < Math.min(a.length, c.length) && a[p] === c[p]) p++;
      expect(commonPrefix(a, c)).toBe(p);
      const max = Math.min(a.length, c.length) - p;
      let s = 0;
      while (s < max && a[a.length - 1 - s] === c[c.length - 1 - s]) s++;
      expect(commonSuffix(a, c, max)).toBe(s);
    }
  });
});

describe('decoding a changed policy or profile from the held snapshot', () => {
  const policy = base.policies[0]!;
  const many = (n: number, port = (i: number) => 1000 + i): NodePlan['policies'] =>
    Array.from({ length: n }, (_, i) => ({ ...policy, key: `default/p${i}`, name: `p${i}`, ingress: policy.ingress.map((r) => ({ ...r, dst: { ...r.dst, ports: [[port(i), port(i)]] as [number, number][] } })) }));
  const withPolicies = (policies: NodePlan['policies'], profiles = base.profiles): NodePlan => ({ ...withSets([host(1), host(2)]), policies, profiles });

  test('random edits of 200 policies and the profiles: same plan as the full decode, and spliced', () => {
    const rand = prng(21);
    let policies = many(200);
    let profiles = base.profiles;
    let held = ok(decodeSnapshot(encode(withPolicies(policies, profiles)), opts));
    let spliced = 0;
    for (let step = 0; step < 200; step++) {
      const next = [...policies];
      const at = Math.floor(rand() * next.length);
      const k = Math.floor(rand() * 5);
      if (k === 0) next[at] = many(1, () => 20_000 + step)[0]!;
      else if (k === 1 && next.length > 1) next.splice(at, 1);
      else if (k === 2) next.splice(at, 0, { ...many(1, () => 30_000 + step)[0]!, key: `default/new${step}`, name: `new${step}` });
      else if (k === 3) next.splice(at, Math.floor(rand() * 3), ...many(Math.floor(rand() * 3), () => 40_000 + step));
      else next[at] = { ...next[at]!, egress: [] };
      const nextProfiles = step % 13 === 0 ? [...profiles, { ...policy, key: `profile/x${step}`, name: `x${step}` }] : profiles;
      const { r, spliced: s } = agree(held, encode(withPolicies(next, nextProfiles)));
      // One list changed: spliced; both: decoded in full.
      expect(s).toBe(nextProfiles === profiles || next.length === policies.length && next.every((p, i) => p === policies[i]));
      held = ok(r);
      policies = next;
      profiles = nextProfiles;
      if (s) spliced++;
    }
    expect(spliced).toBeGreaterThan(170);
    expect(held.plan).toEqual(withPolicies(policies, profiles));
  });

  test('all policies removed and added again; a member change after a policy change', () => {
    let held = ok(decodeSnapshot(encode(withPolicies(many(3))), opts));
    for (const plan of [withPolicies([]), withPolicies(many(2)), { ...withPolicies(many(2)), ipSets: withSets([host(1), host(2), host(3)]).ipSets }]) {
      const { r, spliced } = agree(held, encode(plan));
      expect(spliced).toBe(true);
      held = ok(r);
      expect(held.plan).toEqual(plan);
    }
  });

  test('hostile policy text: refused or accepted exactly as the full decode does', () => {
    const policies = many(20);
    const plan = withPolicies(policies);
    const held = ok(decodeSnapshot(encode(plan), opts));
    const text = new TextDecoder().decode(canonicalBytes(plan));
    const one = canonicalJson(policies[7]);
    expect(text.includes(one)).toBe(true);
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const hostile = [
      one.replace('"name":"p7"', '"name":""'), // fails the schema
      one.replace('"name":"p7"', '"name":"p7","zz":1'), // an extra key, canonical: stripped as in the full decode
      one.replace('"name":"p7"', '"zz":1,"name":"p7"'), // keys out of order
      one.replace('{', '{ '), // a space
      `${one},${one}`, // a duplicate (the schema allows it; the full decode too)
      `${one}],"x":[${one}`, // breaks out of the list
      one.replace('"name":"p7"', `"name":"p7","zz":${deep(62)}`), // as deep as the limit allows
      one.replace('"name":"p7"', `"name":"p7","zz":${deep(63)}`), // one over the limit, counted from the plan
      one.replace('"name":"p7"', '"name":"p\u0037"'), // an escape where none is needed
      one.replace('"name":"p7"', '"name":"p7é"'), // non-ASCII
      '', // nothing where the policy was (a double comma)
    ];
    expect(agreeOnEach(held, text, one, hostile)).toBe(true);
  });

  test('the plan is written part by part exactly as canonicalJson writes it, depth limit included', () => {
    const deep = (n: number): unknown => (n === 0 ? [] : [deep(n - 1)]);
    const plan = withPolicies(many(3));
    const cases: unknown[] = [
      plan,
      { ...plan, policies: [{ ...plan.policies[0]!, zz: deep(62) }] }, // innermost list at depth 64: allowed
      { ...plan, policies: [{ ...plan.policies[0]!, zz: deep(63) }] }, // at depth 65: refused
      { ...plan, profiles: [{ ...plan.policies[0]!, zz: deep(63) }] },
      { ...plan, policies: 'not a list' },
      { ...plan, policies: [1.5] },
      { ...plan, policies: [undefined] },
    ];
    for (const value of cases) {
      let expected: string | undefined;
      try {
        expected = canonicalJson(value);
      } catch {
        expected = undefined;
      }
      expect(planLayout(value)?.text).toBe(expected);
    }
  });
});

