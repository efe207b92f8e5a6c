#!/usr/bin/env bun
/**
 * Benchmark: snapshot size and codec cost, v1 (canonical JSON) against v2 (deflated plan inside
 * the signed envelope), for the standard set's node and the issue's large node (1,000
 * policies × 10 rules, policy-set-large.ts, the node the agent benchmarks apply).
 *
 * Per node and format: payload bytes; encode as the relay does (its own computed plan: no schema
 * check) and as a generic caller does (schema check); decode as an agent does (verify, inflate,
 * hash, parse, canonical check, schema). Floors in the same run: one canonical serialisation of
 * the plan (the least any encoder does), JSON.parse of the plan's text (the least any decoder
 * does), and the pre-v2 encode path's work (schema check + three serialisations: plan for the
 * hash, body, envelope). Formats and floors alternate; medians.
 *
 * usage: bun scripts/bench/snapshot-size.ts [--runs 15] [--no-write]
 */
import { sign } from 'node:crypto';
import * as v from 'valibot';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { NodePlanSchema, type NodePlan } from '../../src/plan/schema.ts';
import { canonicalBytes } from '../../src/protocol/canonical-json.ts';
import { keyId } from '../../src/protocol/key-id.ts';
import { canonicalPlan, decodeSnapshot, encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { generateSigningKeyPair } from '../../src/platform/signing.ts';
import { describeLarge, largeSetFiles } from './policy-set-large.ts';
import { describeSet, policySetYaml } from './policy-set.ts';
import { commandLine, machine, ms, parseArgs, stats, writeResults } from './lib.ts';

const args = parseArgs(process.argv.slice(2));
const RUNS = Number(args.get('runs') ?? 15);
const keys = generateSigningKeyPair();
const opts = { publicKey: keys.publicKey, node: 'gw' };

function planOf(yaml: string): NodePlan {
  const parsed = parseManifest(yaml, 'bench');
  if (parsed.errors.length) throw new Error(`invalid set: ${JSON.stringify(parsed.errors[0])}`);
  return computeNodePlan({ node: 'gw', resources: parsed.resources }).plan;
}

/** The pre-v2 encoder's work, with today's canonical writer: schema check, then plan, body and envelope each serialised. */
function preV2Encode(plan: NodePlan): Uint8Array {
  v.safeParse(NodePlanSchema, plan, { abortEarly: true });
  const hash = canonicalBytes(plan);
  const body = { format: 'outpost.snapshot/v1', node: 'gw', revision: '1', hash: `${hash.length}`, issuedAt: 1, plan };
  const sig = sign(null, canonicalBytes(body), keys.privateKey).toString('base64');
  return canonicalBytes({ body, keyId: keyId(keys.privateKey), sig });
}

interface Row {
  readonly name: string;
  readonly short: string;
  readonly bytes: Record<'v1' | 'v2', number>;
  readonly planBytes: number;
  readonly t: Record<string, number[]>;
}

function measure(short: string, name: string, plan: NodePlan): Row {
  const input = { node: 'gw', revision: '1', plan, issuedAt: 1_800_000_000_000 };
  const payload = { v1: encodeSnapshot(input, keys.privateKey, { format: 1 }), v2: encodeSnapshot(input, keys.privateKey) };
  const text = new TextDecoder().decode(canonicalBytes(plan));
  const cases: [string, () => unknown][] = [
    ['floor: canonical serialisation', () => canonicalPlan(plan)],
    ['floor: JSON.parse of the plan', () => JSON.parse(text)],
    ['pre-v2 encode path', () => preV2Encode(plan)],
    ['encode v1 (relay)', () => encodeSnapshot(input, keys.privateKey, { format: 1, checkPlan: false })],
    ['encode v2 (relay)', () => encodeSnapshot(input, keys.privateKey, { checkPlan: false })],
    ['encode v2 (schema checked)', () => encodeSnapshot(input, keys.privateKey)],
    ['decode v1 (agent)', () => decodeSnapshot(payload.v1, opts)],
    ['decode v2 (agent)', () => decodeSnapshot(payload.v2, opts)],
  ];
  for (const [, f] of cases) f(); // warm up
  const t: Record<string, number[]> = {};
  for (let r = 0; r < RUNS; r++) {
    for (const [label, f] of cases) {
      const s = performance.now();
      f();
      (t[label] ??= []).push(performance.now() - s);
    }
  }
  return { name, short, bytes: { v1: payload.v1.length, v2: payload.v2.length }, planBytes: text.length, t };
}

const rows = [measure('standard set', `standard set (${describeSet()})`, planOf(policySetYaml())), measure('1,000 × 10', describeLarge(), planOf([...largeSetFiles().values()].join('\n---\n')))];
const kb = (n: number) => `${(n / 1000).toFixed(1)} kB`;
const labels = Object.keys(rows[0]!.t);
const md = `
| node | plan JSON | v1 payload | v2 payload | v2 / v1 |
|---|---:|---:|---:|---:|
${rows.map((r) => `| ${r.name} | ${kb(r.planBytes)} | ${kb(r.bytes.v1)} | ${kb(r.bytes.v2)} | ${(r.bytes.v2 / r.bytes.v1).toFixed(3)} |`).join('\n')}

Median ms over ${RUNS} alternating runs (p90 in brackets):

| | ${rows.map((r) => r.short).join(' | ')} |
|---|${rows.map(() => '---:').join('|')}|
${labels.map((l) => `| ${l} | ${rows.map((r) => { const s = stats(r.t[l]!); return `${ms(s.p50)} (${ms(s.p90)})`; }).join(' | ')} |`).join('\n')}

${machine()}
- command: \`${commandLine()}\`
`;
console.log(md);
if (!args.has('no-write')) writeResults('snapshot-size', md);
