/**
 * For the table-writer suites: an in-process Enforcer whose nft runs in a lab namespace (a
 * wrapper script around `ip netns exec`), a logger that remembers what it was told, a listing
 * normalised for comparison, and a seeded random world of resources (sets with hosts and
 * prefixes, policies, profiles, host endpoints) that mutates one step at a time.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftRunner } from '../../src/nft/runner.ts';
import { Enforcer, type EnforcerOptions } from '../../src/agent/enforcer.ts';
import { buildRuleset } from '../../src/agent/host-ruleset.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import type { Logger } from '../../src/platform/logger.ts';
import { STAMP_SET, stampOf } from '../../src/nft/stamp.ts';
import type { Lab } from '../lab/lab.ts';
import type { NodePlan } from '../../src/plan/schema.ts';
import type { HostInterface } from '../../src/calc/dispatch.ts';
import { prng } from '../lab/prng.ts';

export async function nftIn(lab: Lab, host: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-tw-'));
  const bin = join(dir, `nft-${host}`);
  await writeFile(bin, `#!/bin/sh\nexec ip netns exec ${lab.ns(host)} nft "$@"\n`);
  await chmod(bin, 0o755);
  return bin;
}

export interface Said { level: string; msg: string; obj: unknown }

export function memoryLogger(): { log: Logger; said: Said[] } {
  const said: Said[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => {
    said.push(typeof obj === 'string' ? { level, msg: obj, obj: {} } : { level, msg: msg ?? '', obj });
  };
  const log = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), trace: at('trace'), fatal: at('fatal') } as unknown as Logger;
  return { log, said };
}

export async function enforcerIn(lab: Lab, host: string, opts: EnforcerOptions = {}) {
  const nft = await nftIn(lab, host);
  const { log, said } = memoryLogger();
  const runner = new NftRunner(await mkdtemp(join(tmpdir(), 'outpost-tw-state-')), nft);
  return { nft, runner, said, log, enforcer: new Enforcer(runner, log, { auditAfterMs: 0, auditEveryMs: 0, ...opts }) };
}

/** `nft -j list table inet outpost` without handles, counter values and metainfo, in a fixed order. */
export async function normalisedTable(lab: Lab, host: string): Promise<string> {
  const r = await lab.exec(host, ['nft', '-j', 'list', 'table', 'inet', 'outpost'], { reject: false });
  if (r.exitCode !== 0) return `missing: ${r.stderr}`;
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      if (k === 'handle') continue;
      out[k] = k === 'counter' ? { packets: 0, bytes: 0 } : strip(val);
    }
    return out;
  };
  const perChain = new Map<string, number>();
  const keyed: [string, unknown][] = [];
  for (const item of items) {
    if ('metainfo' in item) continue;
    const [kind, body] = Object.entries(item)[0]! as [string, Record<string, unknown>];
    const clean = strip(body) as Record<string, unknown>;
    // Hash sets list in hash order, which depends on history: compare them as sets.
    if (kind === 'set' && Array.isArray(clean['elem'])) clean['elem'] = (clean['elem'] as unknown[]).map((e) => JSON.stringify(e)).sort();
    // The stamp set keeps a few generations after deltas; what counts is the newest one.
    if (kind === 'set' && body['name'] === STAMP_SET) clean['elem'] = stampOf({ nftables: [item] });
    let key = `${kind} ${String(body['name'] ?? '')}`;
    if (kind === 'rule') {
      const chain = String(body['chain']);
      const n = perChain.get(chain) ?? 0;
      perChain.set(chain, n + 1);
      key = `rule ${chain} ${String(n).padStart(6, '0')}`;
    }
    keyed.push([key, { [kind]: clean }]);
  }
  keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return keyed.map(([, v]) => JSON.stringify(v)).join('\n');
}

export const GW_INTERFACES: HostInterface[] = [
  { name: 'eth1', addresses: ['198.18.1.1', 'fd00:1::1'] },
  { name: 'eth2', addresses: ['198.18.2.1', 'fd00:2::1'] },
  { name: 'eth3', addresses: ['198.18.3.1', 'fd00:3::1'] },
];

const CONFIG = { node: 'gw', failsafeInbound: undefined, failsafeOutbound: undefined, loopback: 'exempt' as const };

export function renderYaml(yaml: string, interfaces: readonly HostInterface[] = GW_INTERFACES) {
  const r = parseManifest(yaml, 'test.yaml');
  if (r.errors.length) throw new Error(`invalid test resources: ${JSON.stringify(r.errors).slice(0, 500)}`);
  const built = buildRuleset(CONFIG, r.resources, interfaces);
  lastRendered = { plan: built.plan, interfaces };
  return built.rendered;
}

/** The plan renderYaml rendered last, for the verdict = packet check (test/lab/explain-check.ts provenView). */
export let lastRendered: { plan: NodePlan; interfaces: readonly HostInterface[] } | undefined;

export const resource = (kind: string, name: string, spec: unknown, labels?: Record<string, string>): string =>
  JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind, metadata: labels ? { name, labels } : { name }, spec });

/** A seeded generator, so a failing sequence can be replayed from its seed. */
export const seeded = prng;
