/**
 * What the agent-side scale benchmarks share (agent-apply, set-member-change, policy-change,
 * relay-mode-agent, nft-format): a fresh namespace per run, a process timed whole with its
 * peak memory, the ruleset as the agent would apply it, and the nft floors.
 *
 * Everything goes through the process boundary (the outpost CLI, nft, log lines), so these
 * scripts keep working while the agent's internals change.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab } from '../../test/lab/lab.ts';
import { LABEL, load, logLines, ms, type Flavour } from './lib.ts';
import { NO_CONFIG, addStartHost } from './start-lab.ts';

export const NODE = 'gw';
export { NO_CONFIG };

/**
 * A namespace nobody has used: its own lab, host gw with eth1 and eth2 (the interfaces the HEPs
 * name), destroyed by `destroy()` or, if the script dies, by the lab's exit handlers.
 */
export class FreshHost {
  private constructor(readonly lab: Lab) {}

  static async create(): Promise<FreshHost> {
    const lab = await Lab.create({ sweep: false });
    try {
      await addStartHost(lab);
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return new FreshHost(lab);
  }

  exec(argv: readonly string[], opts: { reject?: boolean; input?: string } = {}) {
    return this.lab.exec(NODE, argv, opts);
  }

  spawn(argv: readonly string[]) {
    return this.lab.spawn(NODE, argv);
  }

  /** Wall time of one command, whole process (includes `ip netns exec`); non-zero exit throws. */
  async time(argv: readonly string[]): Promise<number> {
    const t0 = performance.now();
    const r = await this.lab.exec(NODE, argv, { reject: false });
    const t = performance.now() - t0;
    if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${r.exitCode}: ${r.stderr.slice(0, 2000)}`);
    return t;
  }

  /** Runs a long process to its exit: wall time, exit code, peak RSS (VmHWM sampled every 5 ms), stderr. */
  async run(argv: readonly string[]): Promise<{ ms: number; code: number | null; hwmKiB: number; stderr: string }> {
    const t0 = performance.now();
    const p = this.lab.spawn(NODE, argv);
    const hwm = sampleHwm(p.pid);
    const code = await p.exited;
    const ms = performance.now() - t0;
    return { ms, code, hwmKiB: hwm.stop(), stderr: p.stderr };
  }

  destroy(): Promise<void> {
    return this.lab.destroy();
  }
}

/** Runs `fn` in a fresh host that is destroyed however `fn` ends. */
export async function withFreshHost<T>(fn: (h: FreshHost) => Promise<T>): Promise<T> {
  const h = await FreshHost.create();
  try {
    return await fn(h);
  } finally {
    await h.destroy();
  }
}

/**
 * VmHWM of `pid` (kB), read every 5 ms until `stop()`: the kernel's own peak, so only growth in
 * the last few ms before exit can be missed.
 */
export function sampleHwm(pid: number | undefined): { stop: () => number } {
  let peak = 0;
  const read = () => {
    if (pid === undefined) return;
    try {
      const text = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = Number(/^VmHWM:\s+(\d+)/m.exec(text)?.[1] ?? 0);
      if (kb > peak) peak = kb;
    } catch {
      // gone
    }
  };
  read();
  const timer = setInterval(read, 5);
  return {
    stop: () => {
      clearInterval(timer);
      read();
      return peak;
    },
  };
}

/** The agent's start in local mode: `agent --resources DIR` (with `--once` when asked). */
export function localAgentArgv(bin: readonly string[], resources: string, state: string, once: boolean): string[] {
  return [...bin, 'agent', ...NO_CONFIG, '--node', NODE, '--resources', resources, '--state', state, ...(once ? ['--once'] : [])];
}

/**
 * The ruleset the agent would apply for these manifests on this host, as compact JSON: `outpost
 * render` run in a fresh gw (so the interfaces resolve as the agent's do), re-serialised without
 * whitespace. Written to `out`; returns its size and counts.
 */
export async function renderCompact(bin: readonly string[], resources: string, out: string): Promise<{ pretty: string; compact: string; bytes: number; prettyBytes: number; rules: number; chains: number; sets: number; elements: number }> {
  const pretty = `${out}.pretty.json`;
  await withFreshHost(async (h) => {
    const r = await h.exec(['sh', '-c', `exec "$@" > ${pretty}`, 'sh', ...bin, 'render', '--node', NODE, '--resources', resources], { reject: false });
    if (r.exitCode !== 0) throw new Error(`outpost render failed: ${r.stderr.slice(0, 2000)}`);
  });
  const text = await readFile(pretty, 'utf8');
  const doc = JSON.parse(text) as { nftables: Record<string, Record<string, unknown>>[] };
  const compact = JSON.stringify(doc);
  await writeFile(out, compact);
  const objs = doc.nftables.map((c) => (c['add'] ?? c) as Record<string, Record<string, unknown>>);
  const count = (k: string) => objs.filter((o) => k in o).length;
  const elements = objs.reduce((n, o) => n + (Array.isArray(o['set']?.['elem']) ? (o['set']['elem'] as unknown[]).length : 0) + (Array.isArray(o['element']?.['elem']) ? (o['element']['elem'] as unknown[]).length : 0), 0);
  return { pretty, compact: out, bytes: Buffer.byteLength(compact), prettyBytes: Buffer.byteLength(text), rules: count('rule'), chains: count('chain'), sets: count('set'), elements };
}

/** Number of rules in `inet outpost` as the kernel holds it (the proof a ruleset went in). */
export async function kernelRuleCount(h: FreshHost): Promise<number> {
  const r = await h.exec(['nft', '-t', '-j', 'list', 'table', 'inet', 'outpost'], { reject: false });
  if (r.exitCode !== 0) return 0;
  return (JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] }).nftables.filter((o) => 'rule' in o).length;
}

/** The agent's log lines that report an apply failure (a sample with one is void). */
export function failedApplies(stderr: string) {
  return logLines(stderr).filter((l) => l.msg.startsWith('applying ruleset failed') || l.msg.startsWith('cannot compute'));
}

/** `performance.now()` as wall-clock epoch ms, sub-millisecond, comparable with file times. */
export const wallNow = () => performance.timeOrigin + performance.now();

/**
 * Writes `text` to `file` as an editor would (temporary file, then rename over it) and returns
 * the wall time just before the rename: the moment the new content exists.
 */
export async function replaceFile(file: string, text: string): Promise<number> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  const t = wallNow();
  await rename(tmp, file);
  return t;
}

/** When the agent first read `file` since it was written: its atime (relatime updates the first read after a write). */
export async function firstReadAt(file: string): Promise<number> {
  const s = await stat(file);
  return s.atimeMs > s.mtimeMs ? s.atimeMs : NaN;
}

export async function cleanup(...paths: string[]): Promise<void> {
  for (const p of paths) await rm(p, { recursive: true, force: true });
}

/** A child process of the agent as seen in /proc: its command line and when it was first and last seen. */
export interface ChildSeen {
  cmd: string;
  first: number;
  last: number;
}

/**
 * Watches `pid`'s child processes every millisecond until `stop()`: how long each nft the agent
 * runs lives, seen from outside (±1–2 ms), so the nft part of a change can be told apart
 * without the agent's help. The drift watch's long-lived `nft monitor` is left out.
 */
export function watchChildren(pid: number): { stop: () => ChildSeen[] } {
  const seen = new Map<number, ChildSeen>();
  const look = () => {
    const now = performance.now();
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids: string[] = [];
      try {
        kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      } catch {
        continue;
      }
      for (const k of kids) {
        const c = seen.get(Number(k)) ?? { cmd: '', first: now, last: now };
        c.last = now;
        // A fresh child shows the parent's command line until it execs; read it until it is nft.
        if (!c.cmd.startsWith('nft')) {
          try {
            c.cmd = readFileSync(`/proc/${k}/cmdline`, 'utf8').split('\0').join(' ').trim();
          } catch {
            // gone
          }
        }
        seen.set(Number(k), c);
      }
    }
  };
  const timer = setInterval(look, 1);
  return {
    stop: () => {
      clearInterval(timer);
      return [...seen.values()].filter((c) => /(^|\/)nft /.test(c.cmd) && !c.cmd.includes(' monitor'));
    },
  };
}

/** Total lifetime (ms) of the nft processes first seen before the wall time `until` (a log line's time). */
export function nftBefore(kids: readonly ChildSeen[], until: number): number {
  const limit = until - performance.timeOrigin + 1;
  return kids.filter((c) => c.first <= limit).reduce((t, c) => t + (c.last - c.first), 0);
}

const IN_FORCE = '"msg":"ruleset in force"';

/** CPU ticks (utime + stime) of pid, and whether it runs a child process (an nft apply or listing). */
async function busy(pid: number): Promise<{ ticks: number; children: boolean }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let children = false;
  for (const t of await readdir(`/proc/${pid}/task`)) {
    const kids = (await readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean);
    for (const k of kids) {
      // The drift watch's `nft monitor` runs for the agent's lifetime; only other children count.
      const cmd = await readFile(`/proc/${k}/cmdline`, 'utf8').catch(() => '');
      if (!cmd.includes('monitor')) children = true;
    }
  }
  return { ticks: Number(f[11]) + Number(f[12]), children };
}

/**
 * Waits until the agent is idle: no nft child and under 30 ms of CPU in the last 500 ms (its
 * file poll and interface watch never stop entirely), so its read-back is done.
 */
export async function idle(pid: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  const window: number[] = [];
  while (Date.now() < end) {
    const b = await busy(pid);
    window.push(b.children ? Number.NaN : b.ticks);
    if (window.length > 6) window.shift();
    // Ticks are 10 ms (CLK_TCK 100); NaN (a child) never passes the comparison.
    if (window.length === 6 && window[5]! - window[0]! <= 3) return;
    await Bun.sleep(100);
  }
  throw new Error(`the agent did not go idle: CPU ticks ${window.join(' ')}`);
}

/** How many "ruleset in force" lines the agent has logged. */
export const countInForce = (s: string) => s.split(IN_FORCE).length - 1;

/** Waits for the agent's n-th "ruleset in force" line. */
export async function waitInForce(p: ReturnType<FreshHost['spawn']>, n: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (countInForce(p.stderr) < n) {
    if (!p.running) throw new Error(`agent exited:\n${p.stderr.slice(-3000)}`);
    if (Date.now() > end) throw new Error(`no "ruleset in force" #${n} within ${timeoutMs} ms:\n${p.stderr.slice(-3000)}`);
    await Bun.sleep(2);
  }
}

export const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
export const secs = (x: number) => (x / 1000).toFixed(2);
export const mib = (kib: number) => (kib / 1024).toFixed(0);

/**
 * Each flavour's agent run, then one floor run: `warmup` rounds unmeasured, then `runs` rounds
 * kept. Alternating puts agent and floor under the same load, which moves from minute to minute.
 */
export async function alternate<S extends { ms: number; hwmKiB: number }>(
  which: readonly Flavour[], agent: (f: Flavour) => Promise<S>, floor: () => Promise<number>, warmup: number, runs: number,
): Promise<{ samples: Map<Flavour, S[]>; floors: number[] }> {
  for (let i = 0; i < warmup; i++) {
    for (const f of which) await agent(f);
    await floor();
  }
  const samples = new Map<Flavour, S[]>(which.map((f) => [f, []]));
  const floors: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const f of which) {
      const s = await agent(f);
      samples.get(f)!.push(s);
      console.error(`${LABEL[f]} #${i + 1}: ${ms(s.ms)} ms, VmHWM ${mib(s.hwmKiB)} MiB (load ${load()})`);
    }
    floors.push(await floor());
    console.error(`nft -j -f #${i + 1}: ${ms(floors.at(-1)!)} ms`);
  }
  return { samples, floors };
}
export { join };
