/**
 * `bun scripts/reliability.ts` (as root): the long fault and fuzz runs behind docs/reliability.md.
 *
 *   --inputs N     hostile inputs per parser (default 2000), plus the named attacks at the sizes
 *                  the hostile-input report used (100k deep, a million ports, alias bombs, …)
 *   --kills N      kill -9s of a starting agent (default 400)
 *   --seed N       first seed (default 1); every failure names the seed that reproduces it
 *   --no-flood     skip the MQTT flood (scripts/bench/mqtt-flood.ts measure: the agent's memory
 *                  under 100 forged 15 MiB snapshots, 100 nested-JSON ones and 3 of 250 MiB)
 *   --no-write     print only
 *
 * Each parser's run happens in a child process, so its peak memory is its own. The results
 * replace the block between the `<!-- results:reliability -->` markers of docs/reliability.md;
 * the text around it is written by hand. The same generators run at a small scale in
 * `test/fuzz/fuzz.test.ts` on every test run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ISSUE } from '../test/fuzz/hostile-inputs.ts';
import { fuzzEtcdValues, fuzzManifests, fuzzSelectors, fuzzSnapshots, type Tally } from '../test/fuzz/run-fuzz.ts';
import { killRun, type KillReport } from './reliability/kill9.ts';
import { machine, parseArgs, ROOT } from './bench/lib.ts';

const FUZZERS = { manifests: fuzzManifests, etcd: fuzzEtcdValues, selectors: fuzzSelectors, snapshots: fuzzSnapshots } as const;
type Category = keyof typeof FUZZERS;

const args = parseArgs(process.argv.slice(2));
const num = (k: string, d: number) => (typeof args.get(k) === 'string' ? Number(args.get(k)) : d);
const seed = num('seed', 1);

// Child: run one parser's fuzz and print its tally with the process's peak memory.
const child = args.get('child');
if (typeof child === 'string') {
  const t = FUZZERS[child as Category](num('inputs', 2000), seed, ISSUE);
  process.stdout.write(JSON.stringify({ ...t, peakMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

type Result = Tally & { peakMiB: number };

async function fuzz(category: Category): Promise<Result> {
  const p = Bun.spawn([process.execPath, import.meta.path, '--child', category, '--inputs', String(num('inputs', 2000)), '--seed', String(seed)], { stdout: 'pipe', stderr: 'pipe' });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) {
    // The run itself died (a crash the per-input catch could not hold): that is a defect too.
    return { category, tried: 0, accepted: 0, refused: 0, empty: 0, defects: [`the fuzz process exited ${code}: ${err.slice(-400)}`], slowestMs: 0, slowest: '', peakMiB: 0 };
  }
  return JSON.parse(out) as Result;
}

interface Flood {
  readonly flood: { sent: Record<string, number>; ms: number };
  readonly rssMiB: { before: number; peak: number; after: number; hwm: number };
  readonly refusalsLogged: number;
  readonly agentRunning: boolean;
}

async function flood(): Promise<Flood | string> {
  const p = Bun.spawn([process.execPath, join(ROOT, 'scripts', 'bench', 'mqtt-flood.ts'), 'measure'], { stdout: 'pipe', stderr: 'pipe' });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const last = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !last.startsWith('{')) return `the flood run failed (exit ${code}): ${err.slice(-400)}`;
  return JSON.parse(last) as Flood;
}

function floodTable(f: Flood | string | undefined): string[] {
  if (f === undefined) return [];
  if (typeof f === 'string') return ['', `MQTT flood: ${f}`];
  const sent = Object.entries(f.flood.sent).map(([k, n]) => `${n} ${k}`).join(', ');
  return [
    '',
    `MQTT flood against a relay-mode agent (Mosquitto in the lab; ${sent}; ${(f.flood.ms / 1000).toFixed(1)} s), the agent's memory read from /proc:`,
    '',
    '| RSS before | RSS peak (sampled every 100 ms) | VmHWM (true peak) | RSS after | refusals logged | agent still running |',
    '|---:|---:|---:|---:|---:|---|',
    `| ${f.rssMiB.before} MiB | ${f.rssMiB.peak} MiB | ${f.rssMiB.hwm} MiB | ${f.rssMiB.after} MiB | ${f.refusalsLogged} | ${f.agentRunning ? 'yes' : 'NO'} |`,
  ];
}

function report(results: readonly Result[], kill: KillReport, floodResult: Flood | string | undefined): string {
  const rows = results.map((r) => `| ${r.category} | ${r.tried} | ${r.refused} | ${r.accepted} | ${r.empty} | ${r.defects.length} | ${r.slowestMs.toFixed(0)} ms (${r.slowest}) | ${r.peakMiB.toFixed(0)} MiB |`);
  const defects = results.flatMap((r) => r.defects.slice(0, 10).map((d) => `- ${r.category}: ${d}`));
  return [
    `Command: \`bun scripts/reliability.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}\``,
    '',
    'Machine:',
    machine(),
    '',
    '| parser | inputs | refused with a reason | accepted | empty | defects (throw, no reason, forgery accepted) | slowest input | peak RSS of the run |',
    '|---|---:|---:|---:|---:|---:|---|---:|',
    ...rows,
    '',
    defects.length ? `Defects (first 10 per parser):\n${defects.join('\n')}` : 'Defects: none.',
    '',
    `kill -9 of a starting agent (delay drawn from 0–${kill.maxDelayMs} ms after spawn, policy alternating between two sets):`,
    '',
    '| kills | kernel held one whole ruleset | of which the previous one | of which the new one | SQLite integrity_check ok | failures |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${kill.kills} | ${kill.consistent} | ${kill.previousKept} | ${kill.newInForce} | ${kill.sqliteIntact} | ${kill.failures.length} |`,
    ...(kill.failures.length ? ['', ...kill.failures.slice(0, 20).map((f) => `- ${f}`)] : []),
    ...floodTable(floodResult),
  ].join('\n');
}

const results: Result[] = [];
for (const c of Object.keys(FUZZERS) as Category[]) {
  console.error(`fuzzing ${c} ...`);
  results.push(await fuzz(c));
}
console.error(`kill -9 run (${num('kills', 400)} kills) ...`);
const kill = await killRun({ kills: num('kills', 400), seed, maxDelayMs: 1000, log: (m) => console.error(m) });
let floodResult: Flood | string | undefined;
if (!args.has('no-flood')) {
  console.error('MQTT flood ...');
  floodResult = await flood();
}
const md = report(results, kill, floodResult);
console.log(md);
if (!args.has('no-write')) {
  const doc = join(ROOT, 'docs', 'reliability.md');
  const text = readFileSync(doc, 'utf8');
  const start = '<!-- results:reliability -->';
  const end = '<!-- /results:reliability -->';
  // The markers on lines of their own (the prose above them names them too).
  const i = text.indexOf(`\n${start}\n`) + 1;
  const j = text.indexOf(`\n${end}`) + 1;
  if (i <= 0 || j <= i) throw new Error(`${doc} has no ${start} … ${end} block`);
  writeFileSync(doc, `${text.slice(0, i + start.length)}\n${md}\n${text.slice(j)}`);
  console.error(`wrote ${doc}`);
}
const floodBad = typeof floodResult === 'string' || (floodResult !== undefined && (!floodResult.agentRunning || floodResult.rssMiB.hwm >= 150));
const bad = results.some((r) => r.defects.length > 0) || kill.failures.length > 0 || floodBad;
process.exit(bad ? 1 : 0);
