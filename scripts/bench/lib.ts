/**
 * Shared by the benchmarks: statistics, the machine description, choosing the outpost binary,
 * and writing a result block into docs/benchmarks.md.
 *
 * Benchmarks print and record numbers; they never assert on time (a slow CI machine is not a bug).
 */
import { $ } from 'bun';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { basename, join, relative } from 'node:path';

/** The 1, 5 and 15 minute load averages, as the scripts print them beside each sample. */
export const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');

export const ROOT = join(import.meta.dir, '..', '..');
export const MAIN = join(ROOT, 'src', 'main.ts');
export const DIST = join(ROOT, 'dist', 'outpost');
/** Another compiled binary to measure as "dist" (a build variant, another target); never rebuilt. */
const DIST_OVERRIDE = process.env['OUTPOST_BENCH_DIST'];
const distPath = () => DIST_OVERRIDE ?? DIST;

/** How the doc names each binary. */
export const LABEL: Record<'src' | 'dist', string> = { src: 'bun src/main.ts', dist: DIST_OVERRIDE ?? 'dist/outpost' };
export const DOC = join(ROOT, 'docs', 'benchmarks.md');
/** Taken when a benchmark imports this module, before it builds anything. */
const CODE_AT_START = gitState();

export interface Stats {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentiles: every reported value is one that was actually measured. */
export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
  return { n: s.length, min: s[0]!, p50: at(50), p90: at(90), p99: at(99), max: s.at(-1)!, mean: s.reduce((a, b) => a + b, 0) / s.length };
}

export const ms = (x: number) => x.toFixed(1);

/** A markdown table row per labelled series; columns chosen by the caller. */
export function statsTable(rows: readonly (readonly [string, Stats])[], cols: readonly (keyof Stats)[] = ['n', 'p50', 'p90', 'p99', 'max']): string {
  const head = `| | ${cols.map((c) => (c === 'n' ? 'n' : `${c} (ms)`)).join(' | ')} |`;
  const sep = `|---|${cols.map(() => '---:').join('|')}|`;
  const body = rows.map(([label, st]) => `| ${label} | ${cols.map((c) => (c === 'n' ? String(st.n) : ms(st[c]))).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}

/** The machine, as the doc reports it: CPU model, cores, memory, kernel, bun, date. */
export function machine(): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const mem = /^MemTotal:\s*(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  const gib = mem ? (Number(mem) / 1024 / 1024).toFixed(1) : (totalmem() / 2 ** 30).toFixed(1);
  return [
    `- CPU: ${model} (x64), ${availableParallelism()} cores`,
    `- memory: ${gib} GiB`,
    `- kernel: ${release()}`,
    `- bun: ${Bun.version}`,
    `- date: ${new Date().toISOString()}`,
    `- code: ${codeLine()}`,
    // The machine may be shared (other test runs); the load says how quiet it was.
    `- load average at the end of the run: ${load()}`,
  ].join('\n');
}

/**
 * The code measured: the state when the benchmark started (it builds then), and a note if HEAD
 * moved while it ran (a long run in a tree others commit to).
 */
function codeLine(): string {
  const now = gitState();
  return now === CODE_AT_START ? now : `${CODE_AT_START} at the start of the run (HEAD was ${now} at the end)`;
}

/** The commit measured, and whether src/ differed from it. */
function gitState(): string {
  const git = (...a: string[]) => Bun.spawnSync(['git', '-C', ROOT, ...a]).stdout.toString().trim();
  const head = git('rev-parse', '--short', 'HEAD') || 'unknown';
  return `${head}${git('status', '--porcelain', '--', 'src') ? ' (src/ has uncommitted changes)' : ''}`;
}

/** The command line that produced the results, with the env that changes what is measured. */
export function commandLine(envKeys: readonly string[] = []): string {
  const env = envKeys.filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]} `).join('');
  return `${env}bun ${relative(ROOT, process.argv[1]!)}${process.argv.slice(2).map((a) => ` ${a}`).join('')}`;
}

export type Flavour = 'src' | 'dist';

export function outpostArgv(flavour: Flavour): string[] {
  return flavour === 'src' ? [process.execPath, MAIN] : [distPath()];
}

/**
 * Which binaries to measure: OUTPOST_BENCH_BIN=src|dist|both or --bin. `both` by default.
 * dist/outpost is rebuilt first (unless --no-build) so it is the same code as src/;
 * OUTPOST_BENCH_DIST=PATH measures that binary instead, as is.
 */
export async function flavours(args: Map<string, string | true>): Promise<Flavour[]> {
  const choice = String(args.get('bin') ?? process.env['OUTPOST_BENCH_BIN'] ?? 'both');
  if (!['src', 'dist', 'both'].includes(choice)) throw new Error(`--bin ${choice}: use src, dist or both`);
  const want: Flavour[] = choice === 'both' ? ['src', 'dist'] : [choice as Flavour];
  if (want.includes('dist') && !DIST_OVERRIDE && (!args.has('no-build') || !existsSync(DIST))) {
    console.error('building dist/outpost (bun run build) ...');
    await $`bun run build`.cwd(ROOT).quiet();
  }
  return want;
}

/** `--key value` / `--flag` pairs. */
export function parseArgs(argv: readonly string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) (out.set(a.slice(2), next), i++);
    else out.set(a.slice(2), true);
  }
  return out;
}

/**
 * Replaces the block between `<!-- results:NAME -->` and `<!-- /results:NAME -->` in
 * docs/benchmarks.md (appends it if absent): the prose around it is written by hand, the
 * numbers only ever by the script, so a rerun cannot leave stale figures beside new ones.
 */
export function writeResults(base: string, markdown: string): void {
  // A results block for another binary never replaces the one for dist/outpost.
  const name = DIST_OVERRIDE ? `${base}-${basename(DIST_OVERRIDE)}` : base;
  const open = `<!-- results:${name} -->`;
  const close = `<!-- /results:${name} -->`;
  const block = `${open}\n${markdown.trim()}\n${close}`;
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  const next = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + close.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(DOC, next);
  console.error(`results written to ${relative(ROOT, DOC)} (${name})`);
}

/** A pino line's `time` (ISO, ms) as epoch ms. */
export const logTime = (line: { time: string }) => Date.parse(line.time);

export type { LogLine } from '../../test/integration/sync-harness.ts';

/** The same log-line parser the integration tests use. */
export { parseLogLines as logLines } from '../../test/integration/sync-harness.ts';

export const median = (xs: readonly number[]) => stats(xs).p50;
