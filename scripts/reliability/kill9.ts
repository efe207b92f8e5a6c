/**
 * The kill -9 consistency run: an agent in a lab namespace is killed with SIGKILL at a random
 * moment of its start (loading manifests, recording them in SQLite, rendering, `nft -j -f`,
 * the read-back), over and over, while its policy alternates between two sets. After every
 * kill:
 *
 * - the kernel must hold exactly one of the two rendered rulesets, whole (compared with what a
 *   clean apply of each left, handles and counters aside), never a mix, never nothing;
 * - the state dir's SQLite must pass `PRAGMA integrity_check`, and the next agent must start.
 *
 * The agent runs in local mode from a folder switched by atomic rename, so each start has
 * something to record and something to apply.
 */
import { Database } from 'bun:sqlite';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../../test/lab/lab.ts';
import { addStartHost, NO_CONFIG } from '../bench/start-lab.ts';
import { policySetYaml } from '../bench/policy-set.ts';
import { prng } from '../../test/fuzz/hostile-inputs.ts';

const NODE = 'gw';

export interface KillReport {
  readonly kills: number;
  /** Kills after which the kernel held set A's or set B's ruleset, whole. */
  readonly consistent: number;
  /** Kills that landed before the agent changed the table (it still held the previous set). */
  readonly previousKept: number;
  /** Kills after which the table already held the set the killed agent was applying. */
  readonly newInForce: number;
  readonly sqliteIntact: number;
  /** Descriptions of every kill after which something was wrong. */
  readonly failures: string[];
  readonly maxDelayMs: number;
}

/** The table as a comparable fingerprint: rules and sets in order, without handles or counters. */
function fingerprint(json: string): string {
  const doc = JSON.parse(json) as { nftables: Record<string, Record<string, unknown>>[] };
  const strip = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(strip);
    if (typeof x !== 'object' || x === null) return x;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      if (k === 'handle' || k === 'metainfo') continue;
      out[k] = k === 'counter' ? {} : strip(v);
    }
    return out;
  };
  return JSON.stringify(strip(doc.nftables.filter((c) => !('metainfo' in c))));
}

export async function killRun(opts: { kills: number; seed: number; maxDelayMs: number; log?: (m: string) => void }): Promise<KillReport> {
  const log = opts.log ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'outpost-kill9-'));
  const lab = await Lab.create();
  const failures: string[] = [];
  let consistent = 0;
  let previousKept = 0;
  let newInForce = 0;
  let sqliteIntact = 0;
  try {
    await addStartHost(lab);
    const sets = {
      A: policySetYaml({ policies: 40, peers: 50, sets: 10 }),
      B: policySetYaml({ policies: 60, peers: 30, sets: 5 }),
    };
    const state = join(dir, 'state');
    const live = join(dir, 'resources');
    const agent = (extra: string[] = []) => [process.execPath, join(import.meta.dir, '../../src/main.ts'), 'agent', ...NO_CONFIG, '--node', NODE, '--resources', live, '--state', state, ...extra];
    const use = async (name: 'A' | 'B') => {
      // Atomic switch of the whole folder, as the README recommends for manifests.
      const next = join(dir, `next-${name}-${crypto.randomUUID()}`);
      await mkdir(next);
      await writeFile(join(next, 'policy-set.yaml'), sets[name]);
      await rm(live, { recursive: true, force: true });
      await rename(next, live);
    };
    const table = async () => {
      const r = await lab.exec(NODE, ['nft', '-j', 'list', 'table', 'inet', 'outpost'], { reject: false });
      return r.exitCode === 0 ? fingerprint(r.stdout) : undefined;
    };
    const prints: Record<'A' | 'B', string> = { A: '', B: '' };
    for (const name of ['A', 'B'] as const) {
      await use(name);
      await lab.exec(NODE, agent(['--once']), { timeoutMs: 60_000 });
      const fp = await table();
      if (!fp) throw new Error(`a clean apply of set ${name} left no table`);
      prints[name] = fp;
    }
    if (prints.A === prints.B) throw new Error('the two sets render the same table; the run could not tell them apart');
    let current: 'A' | 'B' = 'B';
    let lastTarget: 'A' | 'B' = 'B';
    const rand = prng(opts.seed);
    for (let k = 1; k <= opts.kills; k++) {
      const target: 'A' | 'B' = current === 'A' ? 'B' : 'A';
      lastTarget = target;
      await use(target);
      const delay = Math.floor(rand() * opts.maxDelayMs);
      const p = lab.spawn(NODE, agent());
      await Bun.sleep(delay);
      p.killSync();
      await p.exited;
      // An nft the agent had started finishes on its own (it is not in the agent's process).
      await Bun.sleep(20);
      const fp = await table();
      if (fp === prints[target]) {
        consistent++;
        newInForce++;
        current = target;
      } else if (fp === prints[current]) {
        consistent++;
        previousKept++;
      } else {
        failures.push(`kill ${k} after ${delay} ms: the table is ${fp === undefined ? 'gone' : 'neither set'}`);
      }
      if (existsSync(join(state, 'outpost.db'))) {
        try {
          const db = new Database(join(state, 'outpost.db'));
          const check = db.query<{ integrity_check: string }, []>('PRAGMA integrity_check').all();
          db.close();
          if (check.length === 1 && check[0]?.integrity_check === 'ok') sqliteIntact++;
          else failures.push(`kill ${k}: SQLite integrity_check: ${check.map((c) => c.integrity_check).join('; ')}`);
        } catch (e) {
          failures.push(`kill ${k}: SQLite cannot be opened: ${(e as Error).message}`);
        }
      } else sqliteIntact++; // killed before the database was created: nothing to damage
      if (k % 50 === 0) log(`${k} kills: ${consistent} consistent, ${failures.length} failures`);
    }
    // The agent must still start and converge after all that.
    await lab.exec(NODE, agent(['--once']), { timeoutMs: 60_000 });
    if ((await table()) !== prints[lastTarget]) failures.push('after the run, a clean --once did not converge on the folder\'s set');
    return { kills: opts.kills, consistent, previousKept, newInForce, sqliteIntact, failures, maxDelayMs: opts.maxDelayMs };
  } finally {
    await lab.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
