/**
 * Benchmark: the relay-mode agent with the 1,000 × 10 node (policy-set-large.ts) in its cache:
 * decode + verify + render + apply of the signed snapshot, at start with no broker (as after a
 * reboot with the network down), beside the floor: `nft -j -f` of the same ruleset as compact
 * JSON, each in a fresh namespace, alternating; medians.
 *
 * The cache is made with the product's CLI, as an operator would: `outpost keygen`, `outpost
 * bundle export --resources` (the snapshot the relay would publish, same encoder and key) and
 * `outpost bundle import` into a state directory, copied fresh for every run. The agent starts
 * with a broker address that gw has no route to; the time is spawn → the parent reads `"ruleset
 * in force"` with `"from":"cache"`, whole process, with its peak RSS (VmHWM, sampled until the
 * agent goes idle after its read-back). The table is checked in the kernel.
 *
 * Then the agent's steps one by one (cached-start-phases.ts, cold pass in a fresh process and
 * namespace), when that script still runs against the current code.
 *
 * usage: bun scripts/bench/relay-mode-agent.ts [--runs 3] [--warmup 1] [--policies 1000] [--peers 500] [--sets 100]
 *        [--bin src|dist|both] [--no-build] [--no-write]     (default --bin src)
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'bun';
import { NO_CONFIG, NODE, alternate, failedApplies, idle, kernelRuleCount, mib, ratio, renderCompact, sampleHwm, withFreshHost } from './agent-lab.ts';
import { LABEL, commandLine, flavours, logLines, logTime, machine, median, ms, outpostArgv, parseArgs, stats, statsTable, writeResults, type Flavour, type Stats } from './lib.ts';
import { describeLarge, largeSizeFromArgs, writeLargeSet } from './policy-set-large.ts';

const args = parseArgs(process.argv.slice(2));
if (!args.has('bin') && !process.env['OUTPOST_BENCH_BIN']) args.set('bin', 'src');
const RUNS = Number(args.get('runs') ?? 3);
const WARMUP = Number(args.get('warmup') ?? 1);
const { size, suffix } = largeSizeFromArgs(args);
const which = await flavours(args);
/** No route from gw: the agent starts with its broker unreachable. */
const BROKER = 'mqtt://198.18.4.2:1883';

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-relayagent-'));
try {
  const resources = join(dir, 'resources');
  await writeLargeSet(resources, size);
  const bin = outpostArgv(which[0]!);
  const key = join(dir, 'relay');
  const bundle = join(dir, 'gw.bundle');
  const cached = join(dir, 'state-cached');
  await $`${bin} keygen --out ${key}`.quiet();
  await $`${bin} bundle export --node ${NODE} --resources ${resources} --signing-key ${key}.key --out ${bundle}`.quiet();
  await $`${bin} bundle import ${bundle} ${NO_CONFIG} --node ${NODE} --broker ${BROKER} --trust-key ${key}.pub --state ${cached}`.quiet();
  const bundleBytes = Bun.file(bundle).size;
  const r = await renderCompact(bin, resources, join(dir, 'ruleset.json'));

  interface Start { ms: number; hwmKiB: number; toStarting: number; toInForce: number }
  const start = (f: Flavour): Promise<Start> =>
    withFreshHost(async (h) => {
      const state = join(dir, `state-${crypto.randomUUID()}`);
      await cp(cached, state, { recursive: true });
      const wall0 = Date.now();
      const t0 = performance.now();
      const p = h.spawn([...outpostArgv(f), 'agent', ...NO_CONFIG, '--node', NODE, '--broker', BROKER, '--trust-key', `${key}.pub`, '--state', state]);
      const hwm = sampleHwm(p.pid);
      try {
        await p.waitFor(/"msg":"ruleset in force"/, 300_000);
        const total = performance.now() - t0;
        await idle(p.pid!, 120_000);
        const peak = hwm.stop();
        const lines = logLines(p.stderr);
        const inForce = lines.find((l) => l.msg === 'ruleset in force')!;
        const starting = lines.find((l) => l.msg === 'outpost agent starting');
        if (inForce['from'] !== 'cache') throw new Error(`first ruleset came from ${String(inForce['from'])}, not the cache`);
        if (!starting) throw new Error('no "outpost agent starting" line');
        const failed = failedApplies(p.stderr);
        if (failed.length) throw new Error(`the agent logged a failed apply: ${JSON.stringify(failed[0])}`);
        if ((await kernelRuleCount(h)) < r.rules / 2) throw new Error('the kernel holds far fewer rules than rendered');
        return { ms: total, hwmKiB: peak, toStarting: logTime(starting) - wall0, toInForce: logTime(inForce) - logTime(starting) };
      } finally {
        hwm.stop();
        await p.stop();
        await rm(state, { recursive: true, force: true });
      }
    });
  const floor = () => withFreshHost((h) => h.time(['nft', '-j', '-f', r.compact]));

  const { samples, floors } = await alternate(which, start, floor, WARMUP, RUNS);

  // The agent's steps, with the script cached-start.ts uses; it imports agent internals, so it may lag behind a rework.
  let phases: string[];
  try {
    const cold = await withFreshHost(async (h) => {
      const state = join(dir, 'state-phases');
      await cp(cached, state, { recursive: true });
      const out = await h.exec([process.execPath, join(import.meta.dir, 'cached-start-phases.ts'), state, `${key}.pub`, NODE]);
      return (JSON.parse(out.stdout.trim().split('\n').pop()!) as { cold: Record<string, number> }).cold;
    });
    phases = ['| step | ms |', '|---|---:|', ...Object.entries(cold).map(([k, v]) => `| ${k} | ${ms(v)} |`)];
  } catch (e) {
    phases = [`(cached-start-phases.ts did not run against this code: ${String((e as Error).message).split('\n')[0]})`];
  }

  const floorStats = stats(floors);
  const rows: [string, Stats][] = which.map((f) => [`${LABEL[f]} relay-mode agent, cached snapshot, no broker: spawn → "ruleset in force"`, stats(samples.get(f)!.map((s) => s.ms))]);
  rows.push([`floor: \`nft -j -f\` of the same ruleset, compact JSON (${(r.bytes / 2 ** 20).toFixed(1)} MiB)`, floorStats]);
  const md = [
    `Command: \`${commandLine(['OUTPOST_BENCH_BIN', 'OUTPOST_BENCH_DIST'])}\` — ${RUNS} runs of each after ${WARMUP} warm-up, alternating, each in a fresh namespace.`,
    '',
    machine(),
    '',
    `Node: ${describeLarge(size)}. Signed snapshot (bundle file) ${(bundleBytes / 2 ** 20).toFixed(2)} MiB; rendered: ${r.rules} rules, ${r.chains} chains, ${r.sets} sets. In relay mode the agent adds its broker's failsafe rules to these (a handful).`,
    '',
    statsTable(rows, ['n', 'min', 'p50', 'max']),
    '',
    ...which.map((f) => {
      const xs = samples.get(f)!;
      return `- ${LABEL[f]}: ratio agent / floor (medians) **${ratio(median(xs.map((s) => s.ms)), floorStats.p50)}**; spawn → "starting" ${median(xs.map((s) => s.toStarting))} ms, "starting" → "in force" ${median(xs.map((s) => s.toInForce))} ms (log clock); peak RSS (VmHWM, through the read-back) median ${mib(median(xs.map((s) => s.hwmKiB)))} MiB.`;
    }),
    '',
    'The agent\'s steps, one by one, cold, in a fresh process and namespace (cached-start-phases.ts):',
    '',
    ...phases,
  ].join('\n');
  console.log(md);
  if (!args.has('no-write')) writeResults(`relay-mode-agent${suffix}`, md);
} finally {
  await rm(dir, { recursive: true, force: true });
}
