/**
 * Benchmark: one member added to a GlobalNetworkSet, agent in relay mode, at 1,000 and 100,000
 * members: the relay variant of set-member-change.ts. The snapshot travels through a real
 * Mosquitto.
 *
 * The relay lab of test/integration/sync-harness.ts without etcd: Mosquitto and `outpost relay
 * --resources DIR` in hub, the agent (relay mode) in gw. DIR holds the standard policy set
 * (policy-set.ts) and members.yaml (a GlobalNetworkSet of host addresses and a policy denying it
 * on gw), as in set-member-change.ts. Each change rewrites members.yaml with one more member
 * (temporary file renamed over it); the agent's next "ruleset in force" line names the new
 * revision, and the relay's "snapshots published" line with that revision splits the span:
 * - write → agent in force (includes the relay's folder polling and quiet wait, ~0.5–0.75 s);
 * - relay: its first read of the file (atime) → "snapshots published" (parse, plan for every
 *   node, encode, sign, publish);
 * - agent: "snapshots published" → "ruleset in force" (MQTT delivery, verify, store, render,
 *   apply; log clocks, whole ms), and the agent's own steps as its "ruleset in force" line
 *   reports them (decode, store, render, enforce: performance.now() in the agent, so no MQTT
 *   hop and no clock rounding).
 * The agent is left to go idle after each change. The set starts at N − (warm-up + changes) so
 * the last change reaches N (Calico caps a list at 100,000 entries).
 *
 * usage: bun scripts/bench/set-member-relay.ts [--sizes 1000,100000] [--changes 5] [--warmup 1] [--no-write]   (bun src/main.ts)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { SyncLab } from '../../test/integration/sync-harness.ts';
import { firstReadAt, idle, replaceFile } from './agent-lab.ts';
import { commandLine, load, logLines, logTime, machine, median, ms, parseArgs, stats, statsTable, writeResults, type Stats } from './lib.ts';
import { memberPolicyYaml, memberSetYaml } from './policy-set-large.ts';
import { describeSet, policySetYaml } from './policy-set.ts';

const args = parseArgs(process.argv.slice(2));
const SIZES = String(args.get('sizes') ?? '1000,100000').split(',').map(Number);
const CHANGES = Number(args.get('changes') ?? 5);
const WARMUP = Number(args.get('warmup') ?? 1);

interface Result { size: number; total: number[]; relay: number[]; agent: number[]; steps: Record<string, number[]>; snapshotKiB: number }
/** The agent's own steps, as its "ruleset in force" line reports them (relay-mode.ts). */
const STEPS = ['decode', 'store', 'render', 'enforce'] as const;

async function measure(size: number): Promise<Result> {
  const h = await SyncLab.create({ etcd: false });
  try {
    const res = h.path('resources');
    await mkdir(res, { recursive: true });
    await writeFile(`${res}/policy-set.yaml`, policySetYaml());
    const members = `${res}/members.yaml`;
    const base = size - WARMUP - CHANGES;
    await writeFile(members, memberSetYaml(base) + memberPolicyYaml());
    const relay = h.relay(['--resources', res]);
    await relay.waitFor(/"msg":"snapshots published"/, 300_000);
    const agent = h.agent('gw');
    const inForce = () => logLines(agent.stderr).filter((l) => l.msg === 'ruleset in force');
    const waitFor = async (n: number) => {
      const end = Date.now() + 300_000;
      while (inForce().length < n) {
        if (!agent.running || Date.now() > end) throw new Error(`agent: no "ruleset in force" #${n}:\n${agent.stderr.slice(-3000)}\nrelay:\n${relay.stderr.slice(-2000)}`);
        await Bun.sleep(5);
      }
    };
    await waitFor(1);
    await idle(agent.pid!, 120_000);
    const out: Result = { size, total: [], relay: [], agent: [], steps: {}, snapshotKiB: 0 };
    for (let c = 0; c < WARMUP + CHANGES; c++) {
      const before = inForce().length;
      const tWrite = await replaceFile(members, memberSetYaml(base + c + 1) + memberPolicyYaml());
      await waitFor(before + 1);
      const line = inForce()[before]!;
      // The relay's line may reach us after the agent's: another process, another pipe.
      let published;
      for (let t = 0; t < 400 && !published; t++) {
        published = logLines(relay.stderr).find((l) => l.msg === 'snapshots published' && l['revision'] === line['revision']);
        if (!published) await Bun.sleep(5);
      }
      if (!published) throw new Error(`no relay "snapshots published" line for revision ${String(line["revision"])}; agent: ${JSON.stringify(inForce().map((l) => [l["revision"], l["from"], l.time]))}; relay: ${JSON.stringify(logLines(relay.stderr).filter((l) => l.msg === "snapshots published").map((l) => [l["revision"], l["published"], l.time]))}`);
      const bad = [...logLines(agent.stderr), ...logLines(relay.stderr)].filter((l) => ['error', 'fatal'].includes(String(l['level'])));
      if (bad.length) throw new Error(`an error was logged: ${JSON.stringify(bad[0])}`);
      const read = await firstReadAt(members);
      const total = logTime(line) - tWrite;
      const relayMs = logTime(published) - read;
      const agentMs = logTime(line) - logTime(published);
      const steps = (line['ms'] ?? {}) as Record<string, number>;
      if (c >= WARMUP) {
        out.total.push(total), out.relay.push(relayMs), out.agent.push(agentMs);
        for (const k of STEPS) if (typeof steps[k] === 'number') (out.steps[k] ??= []).push(steps[k]);
        (out.steps['own'] ??= []).push(STEPS.reduce((sum, k) => sum + (steps[k] ?? 0), 0));
      }
      console.error(`${size} members, change ${c + 1}: write → agent in force ${ms(total)} ms; relay ${ms(relayMs)} ms; published → agent in force ${agentMs} ms; agent's steps ${JSON.stringify(steps)} (load ${load()})`);
      await idle(agent.pid!, 120_000);
    }
    const retained = await h.retained('outpost/v1/nodes/gw/snapshot').catch(() => undefined);
    out.snapshotKiB = retained ? retained.length / 1024 : Number.NaN;
    return out;
  } finally {
    await h.destroy();
  }
}

const results: Result[] = [];
for (const size of SIZES) results.push(await measure(size));
const rows: [string, Stats][] = results.flatMap((r) => [
  [`${r.size} members: write → agent "ruleset in force"`, stats(r.total)],
  [`${r.size} members: relay, first read of the file → "snapshots published"`, stats(r.relay)],
  [`${r.size} members: agent, "snapshots published" → "ruleset in force"`, stats(r.agent)],
] as [string, Stats][]);
const stepRows: [string, Stats][] = results.flatMap((r) =>
  [...STEPS, 'own'].filter((k) => r.steps[k]?.length).map((k) => [`${r.size} members: ${k === 'own' ? 'all four (the agent\'s own part)' : k}`, stats(r.steps[k]!)] as [string, Stats]),
);
const lo = results[0]!;
const hi = results.at(-1)!;
const md = [
  `Command: \`${commandLine()}\` — ${CHANGES} changes per size after ${WARMUP} warm-up; relay and agent are \`bun src/main.ts\`.`,
  '',
  machine(),
  '',
  `Resources (served by the relay from a folder): ${describeSet()}, plus a GlobalNetworkSet of N host addresses and a policy denying it on gw. Retained snapshot for gw after the last change: ${results.map((r) => `${r.size} members ${Number.isNaN(r.snapshotKiB) ? 'n/a' : `${r.snapshotKiB.toFixed(0)} KiB`}`).join(', ')}.`,
  '',
  statsTable(rows, ['n', 'min', 'p50', 'max']),
  '',
  'The agent\'s own steps, from its "ruleset in force" line (decode: verify, inflate, hash, parse, validate; store: the SQLite write; render: plan → ruleset; enforce: diff, `nft -j -f`, stamp read-back):',
  '',
  stepRows.length ? statsTable(stepRows, ['n', 'min', 'p50', 'max']) : '(this agent does not report its steps)',
  '',
  lo !== hi ? `Agent's part at ${hi.size} / at ${lo.size} members (medians): **${(median(hi.agent) / Math.max(1, median(lo.agent))).toFixed(2)}** (published → in force), ${hi.steps['own']?.length && lo.steps['own']?.length ? `**${(median(hi.steps['own']) / median(lo.steps['own'])).toFixed(2)}** (its own four steps)` : 'n/a (its own steps)'}; relay's part: ${(median(hi.relay) / median(lo.relay)).toFixed(2)}.` : '',
].join('\n');
console.log(md);
if (!args.has('no-write')) writeResults('set-member-change-relay', md);
