/**
 * The lab in which the start-up benchmarks start a compiled agent: cached-start.ts's method,
 * shared so build-options.ts and startup.ts time the same thing it does.
 *
 * One namespace, gw, with eth1 and eth2 (veth pairs, both ends in gw) that the HEPs name. Two
 * ways to start:
 *
 * - cachedStart: the agent in relay mode with a SQLite cache that holds a signed snapshot of
 *   the policy set (written once with SnapshotCache/encodeSnapshot, as a relay would have sent
 *   it) and a broker address gw has no route to. Timed from spawn until the parent reads the
 *   `"ruleset in force"` line with `"from":"cache"`; then the table is checked in the kernel,
 *   300 ms are left for the read-back check (a failure voids the run), and the agent is stopped.
 * - onceStart: a first start with no cache, in local mode, from the policy set as a folder of
 *   manifests: `outpost agent --resources DIR --once` with an empty state directory. Timed from
 *   spawn to its exit (0 required: --once exits after the read-back check), and to its
 *   `"ruleset in force"` line.
 *
 * Each start deletes `inet outpost` first, so nft creates the table from nothing every time.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../../test/lab/lab.ts';
import { SnapshotCache } from '../../src/cache/snapshot-cache.ts';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { contentHash, encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { generateSigningKeyPair, publicKeyToPem } from '../../src/platform/signing.ts';
import { logLines, logTime, type LogLine } from './lib.ts';
import { policySetYaml, type PolicySetSize } from './policy-set.ts';

const NODE = 'gw';
/**
 * An empty config file: a /etc/outpost/agent.yaml on the machine (a package or another test)
 * must not change what is measured.
 */
export const NO_CONFIG = ['--config', '/dev/null'] as const;
/** No route from gw: the agent starts with its broker unreachable. */
const UNREACHABLE_BROKER = 'mqtt://198.18.4.2:1883';

export interface StartSample {
  /** spawn → the parent reads "ruleset in force" (cachedStart) or sees the exit (onceStart) */
  readonly total: number;
  /** spawn → the agent's "outpost agent starting" line (log clock, whole ms): runtime + modules */
  readonly toStarting: number;
  /** "outpost agent starting" → "ruleset in force" (log clock): the agent's own work */
  readonly startingToInForce: number;
}

/** The two spans between spawn and the agent's "starting" and "ruleset in force" lines. */
function split(lines: readonly LogLine[], wall0: number): Omit<StartSample, 'total'> {
  const starting = lines.find((l) => l.msg === 'outpost agent starting');
  const inForce = lines.find((l) => l.msg === 'ruleset in force');
  if (!starting || !inForce) throw new Error(`missing "outpost agent starting" or "ruleset in force" in: ${JSON.stringify(lines.map((l) => l.msg))}`);
  return { toStarting: logTime(starting) - wall0, startingToInForce: logTime(inForce) - logTime(starting) };
}

export class StartLab {
  private constructor(
    readonly lab: Lab,
    private readonly dir: string,
    /** Snapshot size, for the doc. */
    readonly snapshotBytes: number,
  ) {}

  static async create(size: PolicySetSize): Promise<StartLab> {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-startlab-'));
    const keys = generateSigningKeyPair();
    await writeFile(join(dir, 'relay.pub'), publicKeyToPem(keys.publicKey));
    const yaml = policySetYaml(size);
    await mkdir(join(dir, 'resources'));
    await writeFile(join(dir, 'resources', 'policy-set.yaml'), yaml);
    const parsed = parseManifest(yaml, 'bench');
    if (parsed.errors.length) throw new Error(`policy set invalid: ${JSON.stringify(parsed.errors[0])}`);
    const { plan } = computeNodePlan({ node: NODE, resources: parsed.resources });
    const payload = encodeSnapshot({ node: NODE, revision: '1000', plan, issuedAt: Date.now() }, keys.privateKey);
    const cache = SnapshotCache.open(join(dir, 'state'));
    cache.save(NODE, { revision: '1000', hash: contentHash(plan), payload });
    cache.close();

    const lab = await Lab.create();
    try {
      await addStartHost(lab);
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return new StartLab(lab, dir, payload.length);
  }

  private deleteTable() {
    return this.lab.exec(NODE, ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
  }

  /** Relay mode, broker unreachable, from the SQLite cache; `bin` is the outpost argv prefix. */
  async cachedStart(bin: readonly string[]): Promise<StartSample> {
    await this.deleteTable();
    const argv = [...bin, 'agent', ...NO_CONFIG, '--node', NODE, '--broker', UNREACHABLE_BROKER, '--trust-key', join(this.dir, 'relay.pub'), '--state', join(this.dir, 'state')];
    const wall0 = Date.now();
    const t0 = performance.now();
    const p = this.lab.spawn(NODE, argv);
    try {
      await p.waitFor(/"msg":"ruleset in force"/, 30_000);
      const total = performance.now() - t0;
      const lines = logLines(p.stderr);
      const inForce = lines.find((l) => l.msg === 'ruleset in force')!;
      if (inForce['from'] !== 'cache') throw new Error(`first ruleset came from ${String(inForce['from'])}, not the cache`);
      await this.checkTable();
      await Bun.sleep(300);
      const failed = logLines(p.stderr).find((l) => l.msg.startsWith('applying ruleset failed'));
      if (failed) throw new Error(`the agent reported a failed apply or read-back: ${JSON.stringify(failed)}`);
      return { total, ...split(lines, wall0) };
    } finally {
      await p.stop();
    }
  }

  /** Local mode, no cache: `agent --resources DIR --once` with a fresh state directory. */
  async onceStart(bin: readonly string[]): Promise<StartSample> {
    await this.deleteTable();
    const state = join(this.dir, `once-${crypto.randomUUID()}`);
    const argv = [...bin, 'agent', ...NO_CONFIG, '--node', NODE, '--resources', join(this.dir, 'resources'), '--state', state, '--once'];
    const wall0 = Date.now();
    const t0 = performance.now();
    const p = this.lab.spawn(NODE, argv);
    const code = await p.exited;
    const total = performance.now() - t0;
    await rm(state, { recursive: true, force: true });
    if (code !== 0) throw new Error(`agent --once exited ${code}:\n${p.stderr.slice(-2000)}`);
    await this.checkTable();
    return { total, ...split(logLines(p.stderr), wall0) };
  }

  /** What the last cached start applied, read back from the kernel, for the doc. */
  async appliedRuleset(): Promise<string> {
    const r = await appliedRulesetFile(this.lab, this.dir);
    return r.summary;
  }

  /** The log line is the agent's claim; the kernel is the proof. */
  private async checkTable(): Promise<void> {
    const listed = await this.lab.exec(NODE, ['nft', 'list', 'table', 'inet', 'outpost']);
    if (!/chain /.test(listed.stdout)) throw new Error('table inet outpost has no chains after the start');
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The agent's host: gw with eth1 and eth2, the interfaces the policy set's HEPs name. */
export async function addStartHost(lab: Lab): Promise<void> {
  await lab.addHost(NODE);
  for (const [ifname, cidr] of [['eth1', '198.18.1.1/24'], ['eth2', '198.18.2.1/24']] as const) {
    // A veth with both ends in gw: no second host needed (and no dummy module on every kernel).
    await lab.exec(NODE, ['ip', 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}p`]);
    await lab.exec(NODE, ['ip', 'link', 'set', `${ifname}p`, 'up']);
    await lab.exec(NODE, ['ip', 'addr', 'add', cidr, 'dev', ifname]);
    await lab.exec(NODE, ['ip', 'link', 'set', ifname, 'up']);
  }
}

/**
 * The table the agent applied, read back from the kernel (the agent feeds nft from memory, so no
 * file is left behind) and written as nft JSON input: for the doc's sizes and the `nft -j -f`
 * reference time. The listing is valid input once its metainfo is dropped (objects are added).
 */
export async function appliedRulesetFile(lab: Lab, dir: string): Promise<{ file: string; summary: string; kib: number }> {
  const listed = await lab.exec(NODE, ['nft', '-j', 'list', 'table', 'inet', 'outpost']);
  const doc = JSON.parse(listed.stdout) as { nftables: Record<string, Record<string, unknown>>[] };
  const items = doc.nftables.filter((c) => !('metainfo' in c));
  const count = (k: string) => items.filter((c) => k in c).length;
  const file = join(dir, 'applied-ruleset.json');
  const text = JSON.stringify({ nftables: items });
  await writeFile(file, text);
  const kib = Buffer.byteLength(text) / 1024;
  return { file, kib, summary: `${count('rule')} rules, ${count('chain')} chains, ${count('set')} sets (${kib.toFixed(0)} KiB of nft JSON as listed)` };
}
