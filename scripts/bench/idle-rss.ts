/**
 * Benchmark: the agent's resident memory when idle. Target (issue 4): under 60 MB.
 *
 * The relay lab (test/integration/sync-harness.ts) without etcd: Mosquitto and `outpost relay
 * --resources DIR` (bun src/main.ts) in hub, serving the policy set of policy-set.ts. The agent
 * runs in gw in relay mode, with a SQLite cache that holds a signed snapshot of the same set at
 * an older revision (a fresh copy of the state directory per run). So each run goes: open
 * SQLite, apply from the cache, connect to the broker, receive the relay's snapshot, store it,
 * apply it. Once the agent has logged `"ruleset in force"` from the relay, the clock for "idle"
 * starts; /proc/PID/status is read at each --idle mark (seconds). VmRSS is what is resident
 * now, VmHWM the peak so far; RssAnon is the process's own memory (JS heap, malloc), RssFile the
 * pages of the binary (and libraries) that are mapped in, which the kernel can drop and re-read.
 *
 * --variants adds the experiments of rss-subjects.ts (build options, wrappers that change one
 * thing around main(), idle probes that only import modules), to find what costs memory; its
 * results go to their own block.
 *
 * usage: bun scripts/bench/idle-rss.ts [--runs 3] [--idle 10,30] [--variants] [--no-build] [--no-write]
 */
import { $ } from 'bun';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROKER, SyncLab } from '../../test/integration/sync-harness.ts';
import { SnapshotCache } from '../../src/cache/snapshot-cache.ts';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { contentHash, encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { requireCleanEnv } from './binaries.ts';
import { DIST, ROOT, commandLine, machine, median, parseArgs, writeResults } from './lib.ts';
import { describeSet, policySetYaml, DEFAULT_SIZE } from './policy-set.ts';
import { experimentSubjects, type Subject } from './rss-subjects.ts';
import { NO_CONFIG } from './start-lab.ts';

const args = parseArgs(process.argv.slice(2));
const RUNS = Number(args.get('runs') ?? 3);
const IDLE = String(args.get('idle') ?? '10,30').split(',').map(Number);
/** The target, 60 MB, in bytes (= 57.2 MiB). */
const TARGET_BYTES = 60e6;
requireCleanEnv();

type Reading = Record<'VmRSS' | 'RssAnon' | 'RssFile' | 'VmHWM' | 'Threads', number>;

/** The fields of /proc/PID/status this benchmark reports, in kB (Threads: a count). */
async function readStatus(pid: number): Promise<Reading> {
  const text = await Bun.file(`/proc/${pid}/status`).text();
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { VmRSS: get('VmRSS'), RssAnon: get('RssAnon'), RssFile: get('RssFile'), VmHWM: get('VmHWM'), Threads: get('Threads') };
}

if (!args.has('no-build')) {
  console.error('building dist/outpost (bun scripts/build.ts --target linux-x64) ...');
  await $`bun scripts/build.ts --target linux-x64`.cwd(ROOT).quiet();
}
const tmp = await mkdtemp(join(tmpdir(), 'outpost-bench-rss-'));
const subjects: Subject[] = [{ label: 'dist/outpost (shipped: minify + bytecode, ESM)', argv: [DIST], agent: true }];
if (args.has('variants')) subjects.push(...(await experimentSubjects(tmp)));

const h = await SyncLab.create({ etcd: false });
const results = new Map<string, Reading[][]>(subjects.map((s) => [s.label, []]));
const ready = new Map<string, number[]>(subjects.map((s) => [s.label, []]));
try {
  // The relay serves the policy set from a folder; the cache holds the same set at revision 1.
  const yaml = policySetYaml(DEFAULT_SIZE);
  await $`mkdir -p ${h.path('resources')}`;
  await writeFile(h.path('resources/policy-set.yaml'), yaml);
  const { plan } = computeNodePlan({ node: 'gw', resources: parseManifest(yaml, 'bench').resources });
  const template = h.path('state-template');
  const cache = SnapshotCache.open(template);
  cache.save('gw', { revision: '1', hash: contentHash(plan), payload: encodeSnapshot({ node: 'gw', revision: '1', plan, issuedAt: Date.now() }, h.keys.relay.privateKey) });
  cache.close();
  const relay = h.relay(['--resources', h.path('resources')]);
  await relay.waitFor(/"msg":"snapshots published"/, 30_000);

  for (let run = 0; run < RUNS; run++) {
    for (const s of subjects) {
      await h.lab.exec('gw', ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
      const state = h.path(`state-${run}-${crypto.randomUUID()}`);
      await cp(template, state, { recursive: true });
      const argv = s.agent ? [...s.argv, 'agent', ...NO_CONFIG, '--node', 'gw', '--broker', BROKER, '--trust-key', h.path('relay.pub'), '--state', state] : s.argv;
      const t0 = performance.now();
      const p = h.lab.spawn('gw', argv, s.env ? { env: s.env } : {});
      try {
        if (s.agent) {
          await p.waitFor(/"from":"relay".*"msg":"ruleset in force"/, 30_000);
          if (!/"msg":"connected to broker"/.test(p.stderr)) throw new Error(`in force from the relay but never connected?\n${p.stderr}`);
        }
        ready.get(s.label)!.push(performance.now() - t0);
        const readings: Reading[] = [];
        const idle0 = performance.now();
        for (const mark of IDLE) {
          await Bun.sleep(Math.max(0, mark * 1000 - (performance.now() - idle0)));
          if (!p.running) throw new Error(`${s.label} exited:\n${p.stderr.slice(-2000)}`);
          readings.push(await readStatus(p.pid!));
        }
        if (/applying ruleset failed|snapshot refused/.test(p.stderr)) throw new Error(`${s.label}: a failed apply or refused snapshot:\n${p.stderr.slice(-2000)}`);
        results.get(s.label)!.push(readings);
        console.error(`${s.label} #${run + 1}: ${readings.map((r, i) => `${IDLE[i]} s: VmRSS ${(r.VmRSS / 1024).toFixed(1)} MiB`).join(', ')}`);
      } finally {
        await p.stop();
        await rm(state, { recursive: true, force: true });
      }
    }
  }
} finally {
  await h.destroy();
  await rm(tmp, { recursive: true, force: true });
}

// ---- report ----
const mb = (kb: number) => (kb / 1024).toFixed(1);
const cell = (label: string, mark: number, f: keyof Reading) => median(results.get(label)!.map((r) => r[mark]![f]));
const last = IDLE.length - 1;
// VmRSS at every mark (does it settle?), the split and the peak at the last one.
const rows = subjects.map((s) => `| ${s.label} | ${IDLE.map((_, i) => mb(cell(s.label, i, 'VmRSS'))).join(' | ')} | ${(['RssAnon', 'RssFile', 'VmHWM'] as const).map((f) => mb(cell(s.label, last, f))).join(' | ')} | ${cell(s.label, last, 'Threads')} |`);
const shipped = subjects[0]!.label;
const rssKb = cell(shipped, last, 'VmRSS');
const said = `VmRSS ${mb(rssKb)} MiB = ${((rssKb * 1024) / 1e6).toFixed(1)} MB after ${IDLE[last]} s idle`;
const verdict = rssKb * 1024 < TARGET_BYTES ? `**met**: ${said}` : `**missed**: ${said}`;
const md = [
  `Command: \`${commandLine()}\` — ${RUNS} runs per binary, binaries in turn; readings at ${IDLE.join(' and ')} s after the agent logged \`"ruleset in force"\` from the relay (probes: after spawn); medians of the runs.`,
  '',
  machine(),
  '',
  `Policy set: ${describeSet(DEFAULT_SIZE)}, cached at revision 1 and served by the relay (\`--resources\`, Mosquitto) at a newer one. The agent is connected (MQTT, QoS 1 subscription), holds SQLite open (WAL) and has applied twice (cache, then relay). Spawn → in force from the relay, median: ${median(ready.get(shipped)!).toFixed(0)} ms.`,
  '',
  'From /proc/PID/status; MiB (2^20 bytes):',
  '',
  `| | ${IDLE.map((t) => `VmRSS at ${t} s`).join(' | ')} | RssAnon at ${IDLE[last]} s | RssFile at ${IDLE[last]} s | VmHWM (peak) | threads |`,
  `|---|${IDLE.map(() => '---:|').join('')}---:|---:|---:|---:|`,
  ...rows,
  '',
  `Target (< 60 MB = 57.2 MiB, dist/outpost): ${verdict}; peak (VmHWM) ${mb(cell(shipped, last, 'VmHWM'))} MiB.`,
].join('\n');
console.log(md);
if (!args.has('no-write')) writeResults(args.has('variants') ? 'idle-rss-variants' : 'idle-rss', md);
