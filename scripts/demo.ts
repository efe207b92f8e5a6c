/**
 * `bun run demo` (as root): a small site in network namespaces, run by the compiled binary.
 * hub runs `outpost relay` on a folder of Calico resources with its embedded MQTT broker; gw,
 * web and db run `outpost agent`, which receives its signed snapshot, caches it in SQLite and
 * enforces it with nftables. Real connections are tried before outpost, once it enforces, after
 * an edit, with the relay stopped (and another edit made meanwhile), after the agents restart
 * from their cache onto empty kernel tables, and once the relay is back. Everything it creates
 * is removed, also on failure and Ctrl-C.
 *
 *   bun scripts/demo.ts [--results FILE]    FILE: the table as JSON, for test/integration/demo.test.ts
 *
 * Exits 1 if any connection was allowed or denied against what the policies say.
 */
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import type { LabProcess } from '../test/lab/lab.ts';
import { inForce, logLines, waitLog, type LogLine } from '../test/integration/sync-harness.ts';
import { DIST_BINARY, ensureBinary } from './demo/binary.ts';
import { EDIT_BLOCK_INTERNET, EDIT_HTTPS_ONLY, FLOWS, NODES, RESOURCE_SUMMARY, STEPS, leafAddr, type Node } from './demo/scenario.ts';
import { DemoSite, destroySync, type LiveParts } from './demo/site.ts';
import { label, matrixLines, mismatches, stepLines } from './demo/table.ts';

const { values: opts } = parseArgs({ options: { results: { type: 'string' } } });
if (process.getuid?.() !== 0) {
  console.error('demo: run as root (it creates network namespaces and nftables rules)');
  process.exit(1);
}
// The site's processes inherit our environment; the machine's own outpost settings stay out.
for (const k of Object.keys(process.env)) if (k.startsWith('OUTPOST_')) delete process.env[k];

const live: LiveParts = {};
process.on('exit', () => destroySync(live));
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    console.log(`\n${signal}: removing the demo site`);
    process.exit(code);
  });
}

const say = (line = '') => console.log(line);
const columns: boolean[][] = [];
const problems: string[] = [];
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Probes every flow, records the column and prints what changed. */
async function step(site: DemoSite, title: string, notes: string[] = []): Promise<void> {
  const n = columns.length;
  const results = await site.probe(FLOWS);
  columns.push(results);
  problems.push(...mismatches(FLOWS, n, results));
  say(`\n[${n + 1}] ${title}`);
  for (const note of notes) say(`    ${note}`);
  for (const line of stepLines(FLOWS, n, results, columns[n - 1])) say(line);
}

/** Longer than an agent's longest reconnect backoff (30 s), so a slow return of the relay is
 * waited out rather than reported as a failure. */
const WAIT_MS = 35_000;

/** Waits for the line in `p`'s log past `after`, naming the host if it never comes. */
async function logged(p: LabProcess, pred: (l: LogLine) => boolean, after: number, what: string): Promise<LogLine> {
  try {
    return await waitLog(p, pred, WAIT_MS, after);
  } catch (e) {
    throw new Error(`${p.host}: ${what}: ${(e as Error).message}`);
  }
}

/** Waits until every node logged `revision` (new at each step) in force; one note per node. */
async function converged(agents: Map<Node, LabProcess>, nodes: readonly Node[], revision: string, since: number): Promise<string[]> {
  return Promise.all(
    nodes.map(async (node) => {
      const line = await logged(agents.get(node)!, inForce(revision), 0, `revision ${revision} in force`);
      return `${node.padEnd(3)} revision ${revision} in force ${seconds(Date.parse(line.time) - since)} later (from ${String(line['from'])})`;
    }),
  );
}

const published = (l: LogLine) => l.msg === 'snapshots published';

await ensureBinary(say);
const version = JSON.parse(Bun.spawnSync([DIST_BINARY, 'version', '-o', 'json']).stdout.toString()) as Record<string, string>;
const site = await DemoSite.create(DIST_BINARY, live);
try {
  say(`outpost ${version['version']} (${version['commit']}, ${version['target']}), compiled: dist/outpost`);
  say(`site: namespaces ${site.namespaces().join(' ')}; work dir ${site.work}`);
  const a = (h: 'admin' | 'internet' | 'web' | 'db' | 'hub') => leafAddr(h).padEnd(11);
  say(`
  admin    ${a('admin')} ─ eth1 ┐                    ┌ eth3 ─ web ${a('web')} agent
                              ├ gw (agent, router) ┼ eth4 ─ db  ${a('db')} agent
  internet ${a('internet')} ─ eth2 ┘                    └ eth5 ─ hub ${a('hub')} relay + embedded broker

  hub:         outpost relay --resources policies/ --listen ${leafAddr('hub')}:1883 --insecure --signing-key relay.key
  gw, web, db: outpost agent --node NAME --broker mqtt://${leafAddr('hub')}:1883 --trust-key relay.pub --state DIR`);
  say(`\nthe relay's folder (${site.policies}):`);
  for (const [file, what] of RESOURCE_SUMMARY) say(`  ${file.padEnd(15)} ${what}`);

  await step(site, 'before outpost: nothing is filtered');

  let started = Date.now();
  let relay = site.relay();
  await logged(relay, (l) => l.msg === 'embedded MQTT broker listening', 0, 'broker listening');
  const agents = new Map(NODES.map((n) => [n, site.agent(n)] as const));
  let pub = await logged(relay, published, 0, 'first publication');
  let notes = await converged(agents, NODES, String(pub['revision']), started);
  await step(site, 'relay and three agents started: the policies are enforced', notes);

  const relayLines = logLines(relay).length;
  started = Date.now();
  await site.edit(EDIT_HTTPS_ONLY.file, EDIT_HTTPS_ONLY.text);
  pub = await logged(relay, published, relayLines, 'publication of the edit');
  const changed = pub['published'] as Node[];
  notes = [`relay: published to ${changed.join(', ')} only (the others' policy did not change)`];
  notes.push(...(await converged(agents, changed, String(pub['revision']), started)));
  await step(site, `${EDIT_HTTPS_ONLY.file} edited while everything runs: web now serves HTTPS only`, notes);

  const agentLines = new Map([...agents].map(([n, p]) => [n, logLines(p).length] as const));
  await relay.stop();
  await Promise.all(NODES.map((n) => logged(agents.get(n)!, (l) => l.msg.startsWith('broker unreachable'), agentLines.get(n)!, 'noticing the relay is gone')));
  await site.edit(EDIT_BLOCK_INTERNET.file, EDIT_BLOCK_INTERNET.text);
  await step(site, `relay (and its broker) stopped, then ${EDIT_BLOCK_INTERNET.file} edited to block ${leafAddr('internet')}`, [
    'agents: "broker unreachable; enforcement stays as last applied"',
    'the blocklist edit cannot reach them yet: internet still gets what it got before',
  ]);

  // As after a power cut: processes gone, kernel tables empty, only the SQLite caches left.
  await Promise.all([...agents.values()].map((p) => p.stop()));
  await Promise.all(NODES.map((n) => site.flushTable(n)));
  started = Date.now();
  for (const n of NODES) agents.set(n, site.agent(n));
  notes = await Promise.all(
    NODES.map(async (n) => {
      const line = await logged(agents.get(n)!, inForce(), 0, 'enforcing from its cache');
      return `${n.padEnd(3)} revision ${String(line['revision'])} in force ${seconds(Date.parse(line.time) - started)} after start (from ${String(line['from'])})`;
    }),
  );
  await step(site, 'agents restarted with the relay still down and their nftables table deleted: enforced from the SQLite cache', notes);

  started = Date.now();
  relay = site.relay();
  pub = await logged(relay, published, 0, 'publication after the restart');
  notes = await converged(agents, NODES, String(pub['revision']), started);
  await step(site, 'relay back: every agent converges to the newest revision, blocklist included', notes);

  say('\nall steps (allowed/DENIED: real TCP connections and pings; "!" where that contradicts the policies):');
  for (const line of matrixLines(FLOWS, columns)) say(line);
} catch (e) {
  problems.push(`the demo stopped: ${(e as Error).message}`);
} finally {
  await site.destroy();
}

const leftovers = site.leftovers();
if (leftovers.length) problems.push(`namespaces left behind: ${leftovers.join(' ')}`);
if (opts.results) {
  const cells = Object.fromEntries(FLOWS.map((f, i) => [label(f, false), columns.map((c) => (c[i] ? 'allowed' : 'denied'))]));
  const results = { steps: STEPS.map((s) => s.key).slice(0, columns.length), cells, problems, leftovers, work: site.work, prefix: site.lab.prefix };
  await writeFile(opts.results, `${JSON.stringify(results, null, 2)}\n`);
}
if (problems.length) {
  console.error(`\ndemo FAILED:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
say(`\ndone; the site is gone (namespaces, processes and ${site.work} removed)`);
