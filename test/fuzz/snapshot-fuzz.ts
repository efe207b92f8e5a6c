/**
 * Hostile MQTT snapshot payloads for the agent's decoder, in both envelopes.
 *
 * v2 (what relays send) is not JSON, so it is attacked at the byte level, part by part: the
 * clear first line (format, keyId, signature), the signed header JSON, the deflate stream (bit
 * flips, truncation, extension, cut-outs, duplicated runs). Those never carry a valid signature,
 * so they only test the layers in front of it. To reach the layers behind it (header schema,
 * inflation and its cap, hash, JSON, canonical form, plan schema, node), a share of the cases is
 * re-signed with the trusted test key around hostile content: mutated plans, hostile runs where
 * set members go, corrupted deflate streams, odd headers, deflate bombs. v1 payloads (still read
 * from old caches and relays) are mutated as JSON, as before.
 *
 * Oracles: decodeSnapshot never throws and names a reason for every refusal; nothing altered
 * from a relay-signed payload is accepted; and decoding with the held snapshot (the splice path
 * of plan-splice.ts) gives exactly what the full decode gives, for every payload.
 */
import { sign, type KeyObject } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { validateResource } from '../../src/model/validate.ts';
import type { NodePlan } from '../../src/plan/schema.ts';
import { generateSigningKeyPair } from '../../src/platform/signing.ts';
import { canonicalJson } from '../../src/protocol/canonical-json.ts';
import { keyId } from '../../src/protocol/key-id.ts';
import { MAX_PLAN_BYTES, decodeSnapshot, encodeSnapshot, type DecodeResult, type Snapshot } from '../../src/protocol/snapshot.ts';
import { sha256 } from '../../src/protocol/snapshot-format.ts';
import { VALID_RESOURCES, mutate, prng, type Rand, type Scale } from './hostile-inputs.ts';
import { tally, timed, type Tally } from './tally.ts';

/** A tally with where each payload was stopped (or that it was accepted), to show every layer is reached. */
export type SnapshotTally = Tally & { stages: Record<string, number> };

const enc = new TextEncoder();
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const int = (rand: Rand, n: number) => Math.floor(rand() * n);
const bytesOf = (rand: Rand, n: number) => Uint8Array.from({ length: n }, () => int(rand, 256));
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const deflate = (b: Uint8Array) => new Uint8Array(deflateRawSync(b));
const member = (i: number) => `198.18.${(i >> 8) & 255}.${i & 255}/32`;

/** Where a decode stopped: the reason, and for 'malformed' which layer said so. */
function stage(r: DecodeResult): string {
  if (r.ok) return 'accepted';
  if (r.reason !== 'malformed') return r.reason;
  const m = r.message;
  if (m.includes('inflates to more than')) return 'malformed: inflation cap';
  if (m.includes('does not inflate')) return 'malformed: deflate stream';
  if (m.includes('not JSON') || m.includes('UTF-8')) return 'malformed: not JSON';
  if (m.includes('not a signed') || m.includes('format outpost.snapshot/') || /^(keyId|sig|payload|unexpected field)\b/.test(m)) return 'malformed: envelope';
  if (m.startsWith('body.plan')) return m.includes('canonical') ? 'malformed: plan not canonical' : 'malformed: plan schema';
  if (m.includes('header') || m.startsWith('body.') || m.startsWith('body:')) return 'malformed: header';
  if (m.includes('not canonical') || m.includes('nested deeper')) return 'malformed: plan not canonical';
  return 'malformed: other';
}

/** The v2 payload around any header text and compressed bytes, signed with `key` (as the relay signs). */
function signedV2(header: string, deflated: Uint8Array, key: KeyObject): Uint8Array {
  const signed = cat(enc.encode(`${header}\n`), deflated);
  return cat(enc.encode(`outpost.snapshot/v2 ${keyId(key)} ${sign(null, signed, key).toString('base64')}\n`), signed);
}

function headerText(fields: Record<string, unknown>): string {
  return canonicalJson({ format: 'outpost.snapshot/v2', node: 'gw', revision: '8', issuedAt: Date.UTC(2026, 11, 1), ...fields });
}

/** One byte-level change inside [from, to) of `b` (the whole payload stays, only that part moves). */
function mutateRange(b: Uint8Array, from: number, to: number, rand: Rand): Uint8Array {
  const at = from + int(rand, Math.max(1, to - from));
  const r = rand();
  if (r < 0.35) {
    const out = b.slice();
    for (let k = 1 + int(rand, 3); k > 0; k--) {
      const i = from + int(rand, Math.max(1, to - from));
      if (i < out.length) out[i] = out[i]! ^ (1 << int(rand, 8));
    }
    return out;
  }
  if (r < 0.55) return b.slice(0, at); // truncated there
  if (r < 0.7) return cat(b.subarray(0, at), bytesOf(rand, 1 + int(rand, 64)), b.subarray(at)); // bytes inserted
  if (r < 0.8) return cat(b, rand() < 0.5 ? bytesOf(rand, 1 + int(rand, 4096)) : b.subarray(from, to)); // extended
  if (r < 0.9) return cat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(rand, 64)))); // cut out
  return cat(b.subarray(0, at), b.subarray(from, at), b.subarray(at)); // a run repeated
}

interface Material {
  readonly plan: NodePlan;
  readonly planText: string;
  readonly v1: Uint8Array;
  readonly v2: Uint8Array;
  /** Offsets in v2: end of the clear line, end of the header line. */
  readonly lf1: number;
  readonly lf2: number;
  readonly key: KeyObject;
  readonly bomb: Uint8Array;
}

/** The fuzz plan: the valid resources' plan plus a set of 64 members, so member runs can be attacked. */
function material(key: KeyObject): Material {
  const resources = VALID_RESOURCES.flatMap((r) => {
    const v = validateResource(r);
    return v.ok ? [v.resource] : [];
  });
  const computed = computeNodePlan({ node: 'gw', resources }).plan;
  const plan: NodePlan = { ...computed, ipSets: [...computed.ipSets, { id: 'fuzz-members', selector: "fuzz == 'x'", v4: Array.from({ length: 64 }, (_, i) => member(i * 2)).sort(), v6: ['fd00::1/128'] }] };
  const input = { node: 'gw', revision: '7', plan, issuedAt: Date.UTC(2026, 11, 1) };
  const v2 = encodeSnapshot(input, key);
  const lf1 = v2.indexOf(0x0a);
  return {
    plan,
    planText: canonicalJson(plan),
    v1: encodeSnapshot(input, key, { format: 1 }),
    v2,
    lf1,
    lf2: v2.indexOf(0x0a, lf1 + 1),
    key,
    // Over the cap by one byte: the decoder must stop inflating there.
    bomb: deflate(new Uint8Array(MAX_PLAN_BYTES + 1).fill(0x20)),
  };
}

/** A v1 payload altered as bytes or as JSON (unsigned: must never be accepted). */
function v1Case(m: Material, rand: Rand): Uint8Array {
  const r = rand();
  if (r < 0.5) return mutateRange(m.v1, 0, m.v1.length, rand);
  return enc.encode(JSON.stringify(mutate(JSON.parse(new TextDecoder().decode(m.v1)), rand)));
}

/** A v2 payload altered in one of its parts (unsigned: must never be accepted). */
function v2Case(m: Material, rand: Rand): Uint8Array {
  const part = rand();
  if (part < 0.3) return mutateRange(m.v2, 0, m.lf1 + 1, rand); // the clear line
  if (part < 0.55) return mutateRange(m.v2, m.lf1 + 1, m.lf2 + 1, rand); // the signed header
  if (part < 0.9) return mutateRange(m.v2, m.lf2 + 1, m.v2.length, rand); // the deflate stream
  // The parts moved around: a header from another payload, two clear lines, no clear line.
  const line = m.v2.subarray(0, m.lf1 + 1);
  const rest = m.v2.subarray(m.lf1 + 1);
  return pick(rand, [cat(line, line, rest), rest, cat(line, m.v2.subarray(m.lf2 + 1)), cat(line, rest, rest)]);
}

/** Hostile text where one member of the fuzz set goes (valid members too: those must be accepted). */
function memberRun(rand: Rand): string {
  const valid = () => JSON.stringify(member(1 + 2 * int(rand, 200)));
  return pick(rand, [
    valid,
    () => `${valid()},${valid()}`,
    () => '',
    () => JSON.stringify(mutate(member(3), rand) ?? null),
    () => `${valid()}],"v9":[${valid()}`,
    () => `${valid()}]}],"x":[{"v4":[${valid()}`,
    () => `"\\u0031${member(5).slice(1)}"`,
    () => '"\\u001Fab"',
    () => `"${'\\\\'.repeat(1 + int(rand, 3))}"`,
    () => `"19${String.fromCharCode(0xe9)}.18.0.1/32"`,
    () => `${valid()} `,
    () => `${valid()},`,
    () => `"${'1'.repeat(40 + int(rand, 8))}"`,
    () => new TextDecoder('latin1').decode(bytesOf(rand, 1 + int(rand, 24))),
  ])();
}

/** A payload signed with the trusted key around hostile content: it reaches the layers behind the signature. */
function signedCase(m: Material, rand: Rand, scale: Scale): Uint8Array {
  const r = rand();
  const sealed = (text: string | Uint8Array, fields: Record<string, unknown> = {}, hash?: string) => {
    const bytes = typeof text === 'string' ? enc.encode(text) : text;
    return signedV2(headerText({ hash: hash ?? sha256(bytes), ...fields }), deflate(bytes), m.key);
  };
  if (r < 0.3) {
    // A plan mutated as a value, written canonically (reaches the schema) or not.
    const plan = mutate(JSON.parse(m.planText), rand);
    let text: string;
    try {
      text = rand() < 0.8 ? canonicalJson(plan) : JSON.stringify(plan, null, rand() < 0.5 ? 1 : undefined);
    } catch {
      text = JSON.stringify(plan) ?? 'null';
    }
    return sealed(text);
  }
  if (r < 0.6) {
    // Hostile runs where set members go (what decoding from the held snapshot reads).
    let text = m.planText;
    for (let k = 1 + int(rand, 2); k > 0; k--) {
      const at = JSON.stringify(member(2 * int(rand, 64)));
      text = text.replace(rand() < 0.2 ? `${at},` : at, memberRun(rand));
    }
    return sealed(text);
  }
  if (r < 0.72) {
    // The deflate stream corrupted, then signed: the inflater sees it.
    const good = m.v2.subarray(m.lf2 + 1);
    const bad = mutateRange(good, 0, good.length, rand);
    return signedV2(headerText({ hash: sha256(enc.encode(m.planText)) }), bad, m.key);
  }
  if (r < 0.86) {
    // Odd headers around the good plan: wrong node, bad revision or hash, extra or missing fields, not canonical.
    const fields = mutate({ format: 'outpost.snapshot/v2', node: rand() < 0.2 ? 'other' : 'gw', revision: '8', issuedAt: 1, hash: sha256(enc.encode(m.planText)) }, rand);
    let header: string;
    try {
      header = rand() < 0.7 ? canonicalJson(fields) : JSON.stringify(fields, null, 1).replaceAll('\n', ' ');
    } catch {
      header = String(JSON.stringify(fields));
    }
    if (rand() < 0.1) header = header.padEnd(1100, ' ');
    return signedV2(header, m.v2.subarray(m.lf2 + 1), m.key);
  }
  if (r < 0.93) {
    // Not a plan at all: random bytes, deep nesting, invalid UTF-8, a wrong hash.
    const text = pick(rand, [
      () => bytesOf(rand, int(rand, 2048)),
      () => enc.encode(`${'['.repeat(1 + int(rand, scale.depth))}${']'.repeat(int(rand, 100))}`),
      () => cat(enc.encode(m.planText.slice(0, 40)), new Uint8Array([0xc0, 0xaf]), enc.encode(m.planText.slice(40))),
      () => enc.encode(m.planText.replace('"gw"', '"other"')),
    ])();
    return rand() < 0.8 ? sealed(text) : sealed(text, {}, sha256(enc.encode(m.planText)));
  }
  // A deflate bomb under a signed header (the cap must stop it), or the real plan with junk after the stream.
  if (rand() < 0.5) return signedV2(headerText({ hash: sha256(enc.encode(m.planText)) }), m.bomb, m.key);
  return signedV2(headerText({ hash: sha256(enc.encode(m.planText)) }), cat(m.v2.subarray(m.lf2 + 1), bytesOf(rand, 1 + int(rand, 32))), m.key);
}

export function fuzzSnapshots(n: number, seed: number, scale: Scale): SnapshotTally {
  const t: SnapshotTally = { ...tally('MQTT snapshot payloads'), stages: {} };
  const keys = generateSigningKeyPair();
  const m = material(keys.privateKey);
  const opts = { publicKey: keys.publicKey, node: 'gw' };
  const held = decodeSnapshot(m.v2, opts);
  if (!held.ok) throw new Error(`the fuzz plan does not decode: ${held.message}`);
  const previous: Snapshot = held.snapshot;
  /** `from`: the relay-signed payload it was altered from (undefined: signed by the fuzzer itself). */
  const outcome = (payload: Uint8Array, from?: Uint8Array): string => {
    const r = decodeSnapshot(payload, opts);
    const s = from !== undefined && Buffer.from(payload).equals(Buffer.from(from)) ? 'unchanged' : stage(r);
    t.stages[s] = (t.stages[s] ?? 0) + 1;
    // The same payload decoded from the held snapshot: exactly the same result.
    if (!Bun.deepEquals(decodeSnapshot(payload, { ...opts, previous }), r)) return 'decoding from the held snapshot differs from the full decode';
    if (!r.ok) return r.message.trim() === '' ? 'refused without a reason' : 'refused';
    return from === undefined || s === 'unchanged' ? 'accepted' : 'accepted a forged or altered payload';
  };
  const forged = (b: Uint8Array) => cat(enc.encode(`outpost.snapshot/v2 ${keyId(keys.publicKey)} ${Buffer.alloc(64, 7).toString('base64')}\n`), b);
  const structural: [string, Uint8Array, Uint8Array?][] = [
    [`v1 payload nested ${scale.depth} deep`, enc.encode(`{"body":${'['.repeat(scale.depth)}${']'.repeat(scale.depth)},"keyId":"x","sig":"y"}`)],
    ['16 MiB + 1 of spaces', new Uint8Array(16 * 1024 * 1024 + 1).fill(0x20)],
    ['a v1 plan with 200k endpoints, unsigned', enc.encode(JSON.stringify({ body: { format: 'outpost.snapshot/v1', node: 'gw', revision: '8', hash: 'sha256:00', plan: { ...m.plan, endpoints: Array.from({ length: 200_000 }, () => m.plan.endpoints[0] ?? {}) } }, keyId: 'x', sig: 'y' }))],
    ['v2 deflate bomb (16 MiB + 1 inflated), signed', signedV2(headerText({ hash: sha256(enc.encode(m.planText)) }), m.bomb, m.key)],
    ['v2 deflate bomb, trusted keyId, forged signature', forged(cat(enc.encode(`${headerText({ hash: sha256(enc.encode(m.planText)) })}\n`), m.bomb)), m.v2],
    ['v2 clear line, then 16 MiB without a line feed', cat(m.v2.subarray(0, m.lf1 + 1), new Uint8Array(16 * 1024 * 1024 - m.lf1 - 1).fill(0x7b)), m.v2],
    [`v2 plan nested ${scale.depth} deep, signed`, signedV2(headerText({ hash: sha256(enc.encode(`${'['.repeat(scale.depth)}${']'.repeat(scale.depth)}`)) }), deflate(enc.encode(`${'['.repeat(scale.depth)}${']'.repeat(scale.depth)}`)), m.key)],
    // Capped where the plan stays under the inflation cap (the bombs test the cap): a real, large, valid plan.
    [`v2 plan with ${Math.min(scale.items, 300_000)} set members, signed`, (() => {
      const members = Array.from({ length: Math.min(scale.items, 300_000) }, (_, i) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`).sort();
      const big = canonicalJson({ ...m.plan, ipSets: [{ id: 'big', selector: 'all()', v4: members, v6: [] }] });
      return signedV2(headerText({ hash: sha256(enc.encode(big)) }), deflate(enc.encode(big)), m.key);
    })()],
  ];
  for (const [name, payload, from] of structural) timed(t, name, () => outcome(payload, from));
  for (let i = 0; i < n; i++) {
    const rand = prng(seed + i);
    const r = rand();
    const label = `snapshot seed ${seed + i}`;
    if (r < 0.06) {
      const junk = bytesOf(rand, int(rand, 512));
      timed(t, label, () => outcome(rand() < 0.5 ? junk : cat(enc.encode('outpost.snapshot/v2 '), junk), m.v2));
    } else if (r < 0.2) {
      timed(t, label, () => outcome(v1Case(m, rand), m.v1));
    } else if (r < 0.55) {
      timed(t, label, () => outcome(v2Case(m, rand), m.v2));
    } else {
      timed(t, label, () => outcome(signedCase(m, rand, scale)));
    }
  }
  return t;
}
