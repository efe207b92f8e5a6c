/**
 * Shared by the binary benchmarks (build-options.ts, binary-size.ts, startup.ts, idle-rss.ts):
 * build variants of the compiled binary, compressed size, and timing a short command.
 *
 * Variants are compiled with scripts/build/compile.ts's own compile(), into a directory the
 * caller owns; nothing here touches dist/. The two exceptions are said where they are:
 * a CommonJS build needs an entry without top-level await (src/main.ts has one), and the
 * `--smol`/JIT-policy experiments pass compile() the extra options it takes for them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, type CompileExtra, type CompileOptions } from '../build/compile.ts';
import { sourceCommit } from '../../src/platform/build-info.ts';
import { hostTarget, type Target } from '../build/targets.ts';
import { runtimeVariables } from '../../src/platform/runtime-env.ts';
import { ROOT } from './lib.ts';

/** The xz level and threads every size figure uses (the packages are expected to use xz too). */
export const XZ_ARGS = ['-6', '-T2'] as const;

export interface Variant {
  /** File name in the build directory, and the key in result tables. */
  readonly name: string;
  /** How the doc describes it. */
  readonly label: string;
  readonly options: CompileOptions;
  /** Runtime options baked in (experiments only, not shipped). */
  readonly extra?: Omit<CompileExtra, 'entry'>;
}

/** The build options worth comparing (issue 4): what each costs in size, start-up and memory. */
export const BUILD_VARIANTS: readonly Variant[] = [
  { name: 'plain', label: 'plain (no minify, no bytecode, ESM)', options: { minify: false, bytecode: false, format: 'esm' } },
  { name: 'minify', label: 'minify (ESM)', options: { minify: true, bytecode: false, format: 'esm' } },
  { name: 'minify-bytecode-esm', label: 'minify + bytecode, ESM (SHIPPED)', options: { minify: true, bytecode: true, format: 'esm' } },
  { name: 'minify-bytecode-cjs', label: 'minify + bytecode, CJS', options: { minify: true, bytecode: true, format: 'cjs' } },
  { name: 'bytecode-esm', label: 'bytecode without minify (ESM)', options: { minify: false, bytecode: true, format: 'esm' } },
];

/**
 * Not a shipped option (an experiment, compile()'s `extra`): JavaScriptCore's tier-up
 * thresholds × 1000, so code stays in the interpreter far longer: less JIT code in memory, at
 * the price of slower hot paths (idle-rss.ts shows the memory side).
 */
export const JIT_POLICY_VARIANT: Variant = {
  name: 'minify-bytecode-esm-jit1000',
  label: 'minify + bytecode, ESM, `jitPolicy: 1000` (experiment)',
  options: { minify: true, bytecode: true, format: 'esm' },
  extra: { jitPolicy: 1000 },
};

export interface Built {
  readonly variant: Variant;
  readonly path: string;
  /** Set when compile() refused the variant and a stand-in entry was built (CJS). */
  readonly note?: string;
}

/**
 * Compiles one variant for `target` into `dir`. CJS cannot bundle src/main.ts as it is (its
 * top-level await is ESM-only), so when compile() fails for CJS the same entry is rewritten
 * with the await inside an async IIFE (imports made absolute) and built with the same options.
 */
export async function buildVariant(variant: Variant, dir: string, target: Target = hostTarget()): Promise<Built> {
  const path = join(dir, `outpost-${variant.name}`);
  const commit = sourceCommit();
  if (variant.extra) {
    await bunBuild(join(ROOT, 'src', 'main.ts'), path, variant, target, commit);
    return { variant, path };
  }
  try {
    await compile(target, path, variant.options, commit);
    return { variant, path };
  } catch (e) {
    if (variant.options.format !== 'cjs') throw e;
    const first = String((e as Error).message).split('\n').find((l) => l.startsWith('BuildMessage')) ?? 'compile failed';
    await bunBuild(cjsEntry(dir), path, variant, target, commit);
    return { variant, path, note: `compile() fails for CJS (${first.replace('BuildMessage: ', '')}: the top-level await in src/main.ts); measured from a copy of main.ts with that block in an async IIFE` };
  }
}

/**
 * Builds `entry` (a program that runs outpost's main with something changed around it, written
 * by an experiment) with a variant's options, into `dir`.
 */
export async function buildFromEntry(entry: string, name: string, variant: Variant, dir: string, target: Target = hostTarget()): Promise<string> {
  const path = join(dir, `outpost-${name}`);
  await bunBuild(entry, path, variant, target, sourceCommit());
  return path;
}

/** src/main.ts with absolute imports and its top-level await wrapped, for a CJS bundle. */
function cjsEntry(dir: string): string {
  const src = readFileSync(join(ROOT, 'src', 'main.ts'), 'utf8');
  const abs = src.replace(/(from |import\()'\.\//g, `$1'${join(ROOT, 'src')}/`);
  const wrapped = abs.replace(/if \(import\.meta\.main\) \{([\s\S]*)\}\s*$/, (_m, body: string) => `if (import.meta.main) void (async () => {${body}})();\n`);
  if (wrapped === abs) throw new Error('src/main.ts no longer ends with an `if (import.meta.main) {…}` block; update cjsEntry');
  const entry = join(dir, 'main-cjs-entry.ts');
  writeFileSync(entry, wrapped);
  return entry;
}

/** compile() with the experiment's extra options (another entry, execArgv, jitPolicy). */
async function bunBuild(entry: string, outfile: string, variant: Variant, target: Target, commit: string): Promise<void> {
  await compile(target, outfile, variant.options, commit, { entry, ...variant.extra });
}

/** Bytes of `xz XZ_ARGS -c file` (streamed and counted; nothing written). */
export async function xzSize(file: string): Promise<number> {
  const p = Bun.spawn(['xz', ...XZ_ARGS, '-c', file], { stdout: 'pipe', stderr: 'inherit' });
  let n = 0;
  for await (const chunk of p.stdout) n += chunk.byteLength;
  if ((await p.exited) !== 0) throw new Error(`xz ${file} failed`);
  return n;
}

export const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/**
 * Refuses to measure with Bun's runtime variables set (BUN_OPTIONS, BUN_JSC_*, ...): the compiled
 * binary would re-exec itself without them (src/platform/runtime-env.ts), adding an execve to
 * every figure, and children inherit our environment.
 */
export function requireCleanEnv(): void {
  const found = runtimeVariables(process.env);
  if (found.length) throw new Error(`unset ${found.join(', ')} first: the compiled binary re-execs without them, which would be measured too`);
}

/** Wall time of one run of `argv` to its exit, seen by this process; throws unless it exits 0. */
export function timeOnce(argv: readonly string[]): number {
  const t0 = performance.now();
  const r = Bun.spawnSync([...argv], { stdout: 'pipe', stderr: 'pipe' });
  const t = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${r.exitCode}: ${r.stderr.toString()}`);
  return t;
}

/**
 * Times each command `runs` times after `warmup` unrecorded runs, the commands taking turns
 * (so drift in the machine's load hits them alike). Returns the samples per key.
 */
export function timeInterleaved(cmds: ReadonlyMap<string, readonly string[]>, runs: number, warmup: number): Map<string, number[]> {
  for (const argv of cmds.values()) for (let i = 0; i < warmup; i++) timeOnce(argv);
  const out = new Map<string, number[]>([...cmds.keys()].map((k) => [k, []]));
  for (let i = 0; i < runs; i++) for (const [k, argv] of cmds) out.get(k)!.push(timeOnce(argv));
  return out;
}
