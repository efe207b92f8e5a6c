/**
 * Benchmark: start-up of the compiled binaries this machine can run.
 *
 * - `outpost version`: spawn → exit, for dist/outpost (linux-x64) and linux-x64-baseline, next
 *   to an empty program compiled the same way (the Bun runtime's own start). linux-arm64 runs
 *   under qemu-user (`qemu-aarch64-static -L /usr/aarch64-linux-gnu`): emulated, so it says
 *   nothing about real arm64 hardware; it is there to show the binary starts, and as a
 *   ratio to the emulated empty program. musl builds cannot run here (no musl libstdc++).
 * - cold start from the cache: the agent in relay mode, broker unreachable, spawn → the cached
 *   ruleset in the kernel (start-lab.ts; cached-start.ts's method).
 * - first start with no cache: `agent --resources DIR --once` from the policy set as a folder of
 *   manifests, spawn → exit 0 (after nft apply and the read-back check).
 *
 * Binaries take turns in every timed loop. dist/ is rebuilt for the three targets first
 * (`bun scripts/build.ts --target ...`) unless --no-build.
 *
 * usage: bun scripts/bench/startup.ts [--runs 20] [--version-runs 30] [--emulated-runs 10] [--warmup 2]
 *        [--policies 50] [--peers 200] [--sets 20] [--no-build] [--no-write]
 */
import { $ } from 'bun';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHIPPED } from '../build/compile.ts';
import { binaryPath, targetByName } from '../build/targets.ts';
import { requireCleanEnv, timeInterleaved } from './binaries.ts';
import { ROOT, commandLine, machine, median, ms, parseArgs, stats, statsTable, writeResults, type Stats } from './lib.ts';
import { describeSet, sizeFromArgs } from './policy-set.ts';
import { StartLab, type StartSample } from './start-lab.ts';

const args = parseArgs(process.argv.slice(2));
const RUNS = Number(args.get('runs') ?? 20);
const VERSION_RUNS = Number(args.get('version-runs') ?? 30);
const EMULATED_RUNS = Number(args.get('emulated-runs') ?? 10);
const WARMUP = Number(args.get('warmup') ?? 2);
const { size: SIZE, suffix } = sizeFromArgs(args);
requireCleanEnv();

const dist = join(ROOT, 'dist');
const NATIVE = ['linux-x64', 'linux-x64-baseline'] as const;
const bin = (name: string) => binaryPath(dist, targetByName(name)!);
if (!args.has('no-build') || ![...NATIVE, 'linux-arm64'].every((n) => existsSync(bin(n)))) {
  console.error('building linux-x64, linux-x64-baseline, linux-arm64 (bun scripts/build.ts) ...');
  await $`bun scripts/build.ts --target linux-x64 --target linux-x64-baseline --target linux-arm64`.cwd(ROOT).quiet();
}
const QEMU = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-startup-'));
try {
  // The runtime's own start: an empty program, compiled as outpost is, per target.
  const empty = join(dir, 'empty.ts');
  await writeFile(empty, '');
  for (const name of ['linux-x64', 'linux-arm64']) {
    const r = await Bun.build({ entrypoints: [empty], compile: { target: targetByName(name)!.bun, outfile: join(dir, `empty-${name}`) }, minify: SHIPPED.minify, bytecode: SHIPPED.bytecode, format: SHIPPED.format });
    if (!r.success) throw new Error(r.logs.map(String).join('\n'));
  }

  console.error('version ...');
  const native = timeInterleaved(
    new Map<string, readonly string[]>([
      ...NATIVE.map((n) => [`\`${n} version\``, [bin(n), 'version']] as const),
      ['compiled empty program, linux-x64 (Bun runtime start)', [join(dir, 'empty-linux-x64')]],
    ]),
    VERSION_RUNS,
    3,
  );
  const emulated = timeInterleaved(
    new Map<string, readonly string[]>([
      ['`linux-arm64 version`, **emulated** (qemu-user on x64)', [...QEMU, bin('linux-arm64'), 'version']],
      ['compiled empty program, linux-arm64, **emulated**', [...QEMU, join(dir, 'empty-linux-arm64')]],
    ]),
    EMULATED_RUNS,
    1,
  );

  console.error('agent starts ...');
  const lab = await StartLab.create(SIZE);
  const cached = new Map<string, StartSample[]>(NATIVE.map((n) => [n, []]));
  const once = new Map<string, StartSample[]>(NATIVE.map((n) => [n, []]));
  let applied = '';
  try {
    for (const n of NATIVE) for (let i = 0; i < WARMUP; i++) (await lab.cachedStart([bin(n)]), await lab.onceStart([bin(n)]));
    for (let i = 0; i < RUNS; i++) {
      for (const n of NATIVE) {
        cached.get(n)!.push(await lab.cachedStart([bin(n)]));
        applied ||= await lab.appliedRuleset();
        once.get(n)!.push(await lab.onceStart([bin(n)]));
        console.error(`${n} #${i + 1}: cached ${ms(cached.get(n)!.at(-1)!.total)} ms, --once ${ms(once.get(n)!.at(-1)!.total)} ms`);
      }
    }
  } finally {
    await lab.destroy();
  }

  // ---- report ----
  const rowsOf = (m: Map<string, number[]>) => [...m].map(([k, xs]) => [k, stats(xs)] as [string, Stats]);
  const splitRows = (m: Map<string, StartSample[]>) =>
    [...m].map(([n, xs]) => `| ${n} | ${median(xs.map((x) => x.toStarting))} | ${median(xs.map((x) => x.startingToInForce))} |`);
  const splitHead = ['| | spawn → "outpost agent starting" (ms) | "starting" → "ruleset in force" (ms) |', '|---|---:|---:|'];
  const md = [
    `Command: \`${commandLine()}\` — \`version\` ${VERSION_RUNS} runs per binary (${EMULATED_RUNS} emulated) after warm-up runs; agent starts ${RUNS} per binary after ${WARMUP} warm-up starts; binaries interleaved.`,
    '',
    machine(),
    '',
    'Spawn → exit, wall time seen by the parent, root namespace:',
    '',
    statsTable(rowsOf(native), ['n', 'min', 'p50', 'p90', 'max']),
    '',
    'Emulated: qemu-aarch64-static on this x64 machine. Not representative of arm64 hardware; compare only with the emulated empty program:',
    '',
    statsTable(rowsOf(emulated), ['n', 'min', 'p50', 'p90', 'max']),
    '',
    `Policy set for the agent starts: ${describeSet(SIZE)}; the agent applies ${applied}.`,
    '',
    '**Cold start from the cache** (relay mode, broker unreachable): spawn → the parent reads `"ruleset in force"` with `"from":"cache"`; table confirmed with `nft list table`; includes `ip netns exec`:',
    '',
    statsTable(rowsOf(new Map([...cached].map(([n, xs]) => [n, xs.map((x) => x.total)]))), ['n', 'min', 'p50', 'p90', 'max']),
    '',
    ...splitHead,
    ...splitRows(cached),
    '',
    '**First start, no cache** (local mode, `agent --resources DIR --once`, empty state directory): spawn → exit 0, which comes after the nft apply and the read-back check; includes `ip netns exec`:',
    '',
    statsTable(rowsOf(new Map([...once].map(([n, xs]) => [n, xs.map((x) => x.total)]))), ['n', 'min', 'p50', 'p90', 'max']),
    '',
    ...splitHead,
    ...splitRows(once),
  ].join('\n');
  console.log(md);
  if (!args.has('no-write')) writeResults(`startup${suffix}`, md);
} finally {
  await rm(dir, { recursive: true, force: true });
}
