/**
 * Benchmark: which `bun build --compile` options outpost should ship with.
 *
 * Every variant in BUILD_VARIANTS (binaries.ts) is compiled for this machine's target into a
 * temporary directory with scripts/build/compile.ts's compile(), then measured the same way:
 *
 * - size: the file, and `xz -6 -T2 -c` of it (what a download or a firmware image carries);
 * - `outpost version`: spawn → exit, in the root namespace (runtime start + entry module + the
 *   version command; no network, no nft);
 * - cached start: spawn → the cached ruleset in force, as cached-start.ts measures it
 *   (start-lab.ts), with the standard policy set.
 *
 * JIT_POLICY_VARIANT is added as an experiment (Bun.build's compile.jitPolicy, which compile()
 * does not take), because idle-rss.ts found it saves memory; this shows what it costs in time.
 *
 * Variants take turns in every timed loop, so drift in the machine's load hits them alike.
 *
 * usage: bun scripts/bench/build-options.ts [--runs 20] [--version-runs 30] [--warmup 2] [--keep] [--no-write]
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_VARIANTS, JIT_POLICY_VARIANT, XZ_ARGS, buildVariant, mib, requireCleanEnv, timeInterleaved, xzSize, type Built } from './binaries.ts';
import { commandLine, machine, median, ms, parseArgs, stats, writeResults, type Stats } from './lib.ts';
import { DEFAULT_SIZE, describeSet } from './policy-set.ts';
import { StartLab, type StartSample } from './start-lab.ts';

const args = parseArgs(process.argv.slice(2));
const RUNS = Number(args.get('runs') ?? 20);
const VERSION_RUNS = Number(args.get('version-runs') ?? 30);
const WARMUP = Number(args.get('warmup') ?? 2);
requireCleanEnv();

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-build-'));
try {
  const built: (Built & { buildMs: number; bytes: number; xz: number })[] = [];
  for (const v of [...BUILD_VARIANTS, JIT_POLICY_VARIANT]) {
    const t0 = performance.now();
    const b = await buildVariant(v, dir);
    const buildMs = performance.now() - t0;
    const bytes = (await stat(b.path)).size;
    console.error(`${v.name}: built in ${(buildMs / 1000).toFixed(1)} s, ${mib(bytes)} MiB; xz ...`);
    built.push({ ...b, buildMs, bytes, xz: await xzSize(b.path) });
  }

  console.error(`outpost version × ${VERSION_RUNS} each ...`);
  const version = timeInterleaved(new Map(built.map((b) => [b.variant.name, [b.path, 'version']])), VERSION_RUNS, 3);

  console.error(`cached start × ${RUNS} each ...`);
  const lab = await StartLab.create(DEFAULT_SIZE);
  const starts = new Map<string, StartSample[]>(built.map((b) => [b.variant.name, []]));
  let applied = '';
  try {
    for (const b of built) for (let i = 0; i < WARMUP; i++) await lab.cachedStart([b.path]);
    for (let i = 0; i < RUNS; i++) {
      for (const b of built) {
        const s = await lab.cachedStart([b.path]);
        starts.get(b.variant.name)!.push(s);
        console.error(`${b.variant.name} #${i + 1}: ${ms(s.total)} ms`);
      }
    }
    applied = await lab.appliedRuleset();
  } finally {
    await lab.destroy();
  }

  // ---- report ----
  const row = (b: (typeof built)[number]) => {
    const v: Stats = stats(version.get(b.variant.name)!);
    const s: Stats = stats(starts.get(b.variant.name)!.map((x) => x.total));
    const xs = starts.get(b.variant.name)!;
    const logSplit = `${median(xs.map((x) => x.toStarting))} + ${median(xs.map((x) => x.startingToInForce))}`;
    return `| ${b.variant.label} | ${mib(b.bytes)} | ${mib(b.xz)} | ${ms(v.p50)} | ${ms(v.p90)} | ${ms(s.p50)} | ${ms(s.p90)} | ${logSplit} | ${(b.buildMs / 1000).toFixed(1)} |`;
  };
  const notes = built.filter((b) => b.note).map((b) => `- ${b.variant.label}: ${b.note}.`);
  const md = [
    `Command: \`${commandLine()}\` — target linux-x64 (this machine); \`outpost version\` ${VERSION_RUNS} runs per build after 3 warm-up runs; cached start ${RUNS} starts per build after ${WARMUP} warm-up starts; builds interleaved in both loops.`,
    '',
    machine(),
    '',
    `Sizes in MiB (2^20 bytes); xz is \`xz ${XZ_ARGS.join(' ')} -c\`. \`version\`: spawn → exit, root namespace. Cached start: spawn → the parent reads \`"ruleset in force"\` (\`"from":"cache"\`), includes \`ip netns exec\`; policy set: ${describeSet(DEFAULT_SIZE)} (snapshot ${(lab.snapshotBytes / 1024).toFixed(0)} KiB; the agent applies ${applied}). "log split": medians of spawn → the agent's "outpost agent starting" line + "starting" → "ruleset in force" (log clock, whole ms): the first part is runtime start and module loading, the second the agent's own work (SQLite, verify, render, nft).`,
    '',
    '| build | size (MiB) | xz (MiB) | `version` p50 (ms) | `version` p90 (ms) | cached start p50 (ms) | cached start p90 (ms) | log split p50 (ms) | build time (s) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...built.map(row),
    ...(notes.length ? ['', ...notes] : []),
  ].join('\n');
  console.log(md);
  if (!args.has('no-write')) writeResults('build-options', md);
} finally {
  if (args.has('keep')) console.error(`builds kept in ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
