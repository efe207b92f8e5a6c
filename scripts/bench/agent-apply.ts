/**
 * Benchmark: `outpost agent --once` in local mode on one node with 1,000 GlobalNetworkPolicies ×
 * 10 rules (policy-set-large.ts, manifests on disk), beside its floor: `nft -j -f` of the same
 * ruleset as compact JSON. Target (issue 12): ratio ≤ 1.5 (aim 1.15); agent peak RSS ≤ 120 MiB.
 *
 * Each run is a fresh namespace (gw with eth1, eth2) and a fresh state directory: spawn → exit 0,
 * whole process, peak RSS (VmHWM sampled every 5 ms), table checked in the kernel. The floor
 * runs in its own fresh namespace: the compact JSON comes from `outpost render` of the same
 * manifests in a namespace like gw (what the agent would apply there). Agent and floor runs
 * alternate; medians.
 *
 * Then where the time goes: agent-apply-phases.ts times the agent's steps one by one in a fresh
 * process and namespace (in-process timers).
 *
 * usage: bun scripts/bench/agent-apply.ts [--runs 3] [--warmup 1] [--phases 1 (0: no breakdown)] [--policies 1000] [--peers 500] [--sets 100]
 *        [--bin src|dist|both] [--no-build] [--no-write]     (default --bin src)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FreshHost, alternate, failedApplies, kernelRuleCount, localAgentArgv, mib, ratio, renderCompact, withFreshHost } from './agent-lab.ts';
import { commandLine, flavours, LABEL, load, logLines, logTime, machine, median, ms, outpostArgv, parseArgs, stats, statsTable, writeResults, type Flavour, type Stats } from './lib.ts';
import { describeLarge, largeSizeFromArgs, writeLargeSet } from './policy-set-large.ts';

const args = parseArgs(process.argv.slice(2));
if (!args.has('bin') && !process.env['OUTPOST_BENCH_BIN']) args.set('bin', 'src');
const RUNS = Number(args.get('runs') ?? 3);
const WARMUP = Number(args.get('warmup') ?? 1);
const PHASES = Number(args.get('phases') ?? 1);
const { size, suffix } = largeSizeFromArgs(args);
const which = await flavours(args);

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-apply-'));
const resources = join(dir, 'resources');
try {
  await writeLargeSet(resources, size);
  console.error(`rendering the ruleset (outpost render) ... load ${load()}`);
  const r = await renderCompact(outpostArgv(which[0]!), resources, join(dir, 'ruleset.json'));

  interface Once { ms: number; hwmKiB: number; toStarting: number; toInForce: number; afterInForce: number }
  const once = async (f: Flavour): Promise<Once> =>
    withFreshHost(async (h) => {
      const state = join(dir, `state-${crypto.randomUUID()}`);
      const wall0 = Date.now();
      const res = await h.run(localAgentArgv(outpostArgv(f), resources, state, true));
      await rm(state, { recursive: true, force: true });
      if (res.code !== 0) throw new Error(`agent --once exited ${res.code}:\n${res.stderr.slice(-3000)}`);
      const failed = failedApplies(res.stderr);
      if (failed.length) throw new Error(`the agent logged a failed apply: ${JSON.stringify(failed[0])}`);
      if ((await kernelRuleCount(h)) < r.rules / 2) throw new Error('the kernel holds far fewer rules than rendered');
      const lines = logLines(res.stderr);
      const starting = lines.find((l) => l.msg === 'outpost agent starting');
      const inForce = lines.find((l) => l.msg === 'ruleset in force');
      if (!starting || !inForce) throw new Error('no "outpost agent starting" or "ruleset in force" line');
      return { ms: res.ms, hwmKiB: res.hwmKiB, toStarting: logTime(starting) - wall0, toInForce: logTime(inForce) - logTime(starting), afterInForce: wall0 + res.ms - logTime(inForce) };
    });
  const floor = () => withFreshHost((h) => h.time(['nft', '-j', '-f', r.compact]));

  const { samples: agent, floors } = await alternate(which, once, floor, WARMUP, RUNS);

  const phases: { steps: Record<string, number>; reference: Record<string, number>; missing: string[] }[] = [];
  for (let i = 0; i < PHASES; i++) {
    phases.push(
      await withFreshHost(async (h: FreshHost) => {
        const state = join(dir, `phases-${i}`);
        const out = await h.exec([process.execPath, join(import.meta.dir, 'agent-apply-phases.ts'), resources, state]);
        return JSON.parse(out.stdout.trim().split('\n').pop()!) as (typeof phases)[number];
      }),
    );
  }

  // ---- report ----
  const floorStats = stats(floors);
  const rows: [string, Stats][] = which.map((f) => [`\`${LABEL[f]} agent --once\`, spawn → exit 0`, stats(agent.get(f)!.map((o) => o.ms))]);
  rows.push([`floor: \`nft -j -f\` of the same ruleset, compact JSON (${(r.bytes / 2 ** 20).toFixed(1)} MiB)`, floorStats]);
  const ratios = which.map((f) => {
    const x = ratio(median(agent.get(f)!.map((o) => o.ms)), floorStats.p50);
    const verdict = Number(x) <= 1.5 ? `**met** (≤ 1.5)` : `**missed** (> 1.5)`;
    return `- ${LABEL[f]}: ratio agent / floor (medians) **${x}** — target ${verdict}`;
  });
  const rss = which.map((f) => {
    const peak = median(agent.get(f)!.map((o) => o.hwmKiB));
    return `- ${LABEL[f]}: peak RSS (VmHWM) median ${mib(peak)} MiB, max ${mib(Math.max(...agent.get(f)!.map((o) => o.hwmKiB)))} MiB — target ≤ 120 MiB ${peak / 1024 <= 120 ? '**met**' : '**missed**'}`;
  });
  const split = which.map((f) => {
    const xs = agent.get(f)!;
    return `| ${LABEL[f]} | ${median(xs.map((o) => o.toStarting))} | ${median(xs.map((o) => o.toInForce))} | ${ms(median(xs.map((o) => o.afterInForce)))} |`;
  });
  // --phases 0: no breakdown (the quick ratio-and-RSS run).
  const stepNames = phases.length ? Object.keys(phases[0]!.steps) : [];
  const refNames = phases.length ? Object.keys(phases[0]!.reference) : [];
  const missing = [...new Set(phases.flatMap((p) => p.missing))];
  const md = [
    `Command: \`${commandLine(['OUTPOST_BENCH_BIN', 'OUTPOST_BENCH_DIST'])}\` — ${RUNS} runs of each after ${WARMUP} warm-up, agent and floor alternating, each in a fresh namespace.`,
    '',
    machine(),
    '',
    `Policy set: ${describeLarge(size)}. The agent applies ${r.rules} rules, ${r.chains} chains, ${r.sets} sets (${r.elements} set elements); ${(r.bytes / 2 ** 20).toFixed(1)} MiB of compact nft JSON.`,
    '',
    statsTable(rows, ['n', 'min', 'p50', 'max']),
    '',
    ...ratios,
    ...rss,
    '',
    'The agent runs split at its log lines (log clock, whole ms; medians):',
    '',
    '| | spawn → "outpost agent starting" (ms) | "starting" → "ruleset in force" (ms) | "in force" → exit (ms) |',
    '|---|---:|---:|---:|',
    ...split,
    '',
    ...(phases.length
      ? [
          `Where the time goes: the agent's steps timed one by one in a fresh process and namespace (agent-apply-phases.ts, ${PHASES === 1 ? 'one pass' : `median of ${PHASES}`}):`,
          '',
          '| step | ms |',
          '|---|---:|',
          ...stepNames.map((k) => `| ${k} | ${ms(median(phases.map((p) => p.steps[k]!)))} |`),
          '',
          'References on the same text (not steps of the agent):',
          '',
          '| | ms |',
          '|---|---:|',
          ...refNames.map((k) => `| ${k} | ${ms(median(phases.map((p) => p.reference[k]!)))} |`),
        ]
      : []),
    ...(missing.length ? ['', `Not found in src/ (moved or removed; not timed): ${missing.join(', ')}.`] : []),
  ].join('\n');
  console.log(md);
  if (!args.has('no-write')) writeResults(`agent-apply${suffix}`, md);
} finally {
  await rm(dir, { recursive: true, force: true });
}
