/**
 * Feeds hostile inputs to outpost's parsers and sorts every outcome: accepted, refused with a
 * reason, or a defect (a throw, a refusal without a reason, an accepted forgery). Used by the fast
 * fuzz test and, at the sizes, by scripts/reliability.ts.
 */
import { parseManifest } from '../../src/model/manifest.ts';
import { validateResource } from '../../src/model/validate.ts';
import { decodeStored } from '../../src/datastore/calico-layout.ts';
import { parseSelector } from '../../src/selector/index.ts';
import { decodeSnapshot, encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { generateSigningKeyPair } from '../../src/platform/signing.ts';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { hostileEtcdValue, hostileManifest, hostileSelector, mutate, prng, structuralManifests, VALID_RESOURCES, type Rand, type Scale } from './hostile-inputs.ts';

export interface Tally {
  readonly category: string;
  tried: number;
  accepted: number;
  refused: number;
  /** Inputs with nothing in them (an empty manifest): neither accepted nor refused. */
  empty: number;
  /** "seed N: what went wrong" for every throw, reasonless refusal or accepted forgery. */
  readonly defects: string[];
  slowestMs: number;
  slowest: string;
}

const tally = (category: string): Tally => ({ category, tried: 0, accepted: 0, refused: 0, empty: 0, defects: [], slowestMs: 0, slowest: '' });

function timed(t: Tally, label: string, fn: () => 'accepted' | 'refused' | 'empty' | string): void {
  const start = performance.now();
  let outcome: string;
  try {
    outcome = fn();
  } catch (e) {
    outcome = `threw ${(e as Error).name}: ${String((e as Error).message).slice(0, 160)}`;
  }
  const ms = performance.now() - start;
  t.tried++;
  if (ms > t.slowestMs) {
    t.slowestMs = ms;
    t.slowest = label;
  }
  if (outcome === 'accepted') t.accepted++;
  else if (outcome === 'refused') t.refused++;
  else if (outcome === 'empty') t.empty++;
  else t.defects.push(`${label}: ${outcome}`);
}

function manifestOutcome(text: string): string {
  const r = parseManifest(text, 'fuzz.yaml');
  if (r.errors.some((e) => e.message.trim() === '')) return 'refused without a reason';
  if (r.errors.length > 0) return 'refused';
  return r.resources.length > 0 ? 'accepted' : 'empty';
}

export function fuzzManifests(n: number, seed: number, scale: Scale): Tally {
  const t = tally('manifests');
  for (const s of structuralManifests(scale)) timed(t, s.name, () => manifestOutcome(s.text));
  for (let i = 0; i < n; i++) {
    const rand = prng(seed + i);
    timed(t, `manifest seed ${seed + i}`, () => manifestOutcome(hostileManifest(rand, scale)));
  }
  return t;
}

const KEYS = ['hostendpoints/gw-eth0', 'globalnetworkpolicies/allow-office', 'globalnetworkpolicies/default.allow-office', 'globalnetworksets/office', 'felixconfigurations/default', 'tiers/t1', 'profiles/p', 'networksets/ns/a', 'workloadendpoints/ns/w'];

export function fuzzEtcdValues(n: number, seed: number, scale: Scale): Tally {
  const t = tally('etcd values');
  for (let i = 0; i < n; i++) {
    const rand = prng(seed + i);
    const key = `/calico/resources/v3/projectcalico.org/${KEYS[Math.floor(rand() * KEYS.length)]}`;
    const value = hostileEtcdValue(rand, scale);
    timed(t, `etcd value seed ${seed + i}`, () => {
      const d = decodeStored({ key, value, modRevision: String(1 + i) });
      if (d === undefined) return 'empty';
      if (!d.ok) return d.error.message.trim() === '' ? 'refused without a reason' : 'refused';
      const r = validateResource(d.object, key, { mode: 'stored' });
      if (r.ok) return 'accepted';
      return r.errors.some((e) => e.message.trim() === '') ? 'refused without a reason' : 'refused';
    });
  }
  return t;
}

export function fuzzSelectors(n: number, seed: number, scale: Scale): Tally {
  const t = tally('selectors');
  for (let i = 0; i < n; i++) {
    const rand = prng(seed + i);
    const text = hostileSelector(rand, scale);
    timed(t, `selector seed ${seed + i}`, () => {
      const r = parseSelector(text);
      if (r.ok) {
        r.selector.evaluate({ role: 'gw' });
        return 'accepted';
      }
      return r.error.trim() === '' ? 'refused without a reason' : 'refused';
    });
  }
  return t;
}

function mutateBytes(bytes: Uint8Array, rand: Rand): Uint8Array {
  const out = new Uint8Array(bytes);
  const r = rand();
  if (r < 0.3) {
    const at = Math.floor(rand() * out.length);
    out[at] = (out[at] ?? 0) ^ (1 << Math.floor(rand() * 8));
    return out;
  }
  if (r < 0.5) return out.slice(0, Math.floor(rand() * out.length));
  const text = new TextDecoder().decode(bytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return out;
  }
  return new TextEncoder().encode(JSON.stringify(mutate(parsed, rand)));
}

export function fuzzSnapshots(n: number, seed: number, scale: Scale): Tally {
  const t = tally('MQTT snapshot payloads');
  const keys = generateSigningKeyPair();
  const resources = VALID_RESOURCES.flatMap((r) => {
    const v = validateResource(r);
    return v.ok ? [v.resource] : [];
  });
  const plan = computeNodePlan({ node: 'gw', resources }).plan;
  const good = encodeSnapshot({ node: 'gw', revision: '7', plan, issuedAt: Date.now() }, keys.privateKey);
  const opts = { publicKey: keys.publicKey, node: 'gw' };
  const outcome = (payload: Uint8Array): string => {
    const r = decodeSnapshot(payload, opts);
    if (r.ok) return Buffer.from(payload).equals(Buffer.from(good)) ? 'accepted' : 'accepted a forged or altered payload';
    return r.message.trim() === '' ? 'refused without a reason' : 'refused';
  };
  const enc = new TextEncoder();
  const structural: [string, Uint8Array][] = [
    [`payload nested ${scale.depth} deep`, enc.encode(`{"body":${'['.repeat(scale.depth)}${']'.repeat(scale.depth)},"keyId":"x","sig":"y"}`)],
    ['16 MiB + 1 of spaces', new Uint8Array(16 * 1024 * 1024 + 1).fill(0x20)],
    ['a plan with 200k endpoints, unsigned', enc.encode(JSON.stringify({ body: { format: 'outpost.snapshot/v1', node: 'gw', revision: '8', hash: 'sha256:00', plan: { ...plan, endpoints: Array.from({ length: 200_000 }, () => plan.endpoints[0] ?? {}) } }, keyId: 'x', sig: 'y' }))],
  ];
  for (const [name, payload] of structural) timed(t, name, () => outcome(payload));
  for (let i = 0; i < n; i++) {
    const rand = prng(seed + i);
    const payload = rand() < 0.1 ? new Uint8Array(Array.from({ length: Math.floor(rand() * 512) }, () => Math.floor(rand() * 256))) : mutateBytes(good, rand);
    timed(t, `snapshot seed ${seed + i}`, () => outcome(payload));
  }
  return t;
}
