/**
 * Benchmark: one policy changed on the loaded 1,000 × 10 node (policy-set-large.ts), agent
 * running in local mode, beside its floors on the same table: flush + re-add of that policy's
 * chains (pi-/po-<name>) as one `nft -j -f` transaction, and a trivial nft transaction.
 * Issue 12 asks that a changed policy rewrite only its chains.
 *
 * Setup: a fresh namespace gw with `outpost agent --resources DIR` (no --once), left to apply the
 * whole set and go idle. A second fresh namespace holds the floor table: the compact JSON of
 * `outpost render` for the same manifests.
 *
 * Each change: policy pol0500's first ingress port gets a new value; its file (policies-05.yaml,
 * 100 policies) is rewritten (temporary file renamed over it). Timed as in set-member-change.ts:
 * write → the agent's next "ruleset in force" line (includes the folder source's 0.5–0.75 s of
 * polling and quiet wait), and the agent's work from its first read of the file (atime) to that
 * line, and within it the lifetime of the agent's nft processes that started before the line
 * (watched in /proc every millisecond). Then one run of each floor; the agent is left to go idle before the next change. At the
 * end the kernel's chain is checked for the last port.
 *
 * usage: bun scripts/bench/policy-change.ts [--changes 5] [--warmup 1] [--policies 1000] [--peers 500] [--sets 100]
 *        [--bin src|dist|both] [--no-build] [--no-write]     (default --bin src)
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nftBefore, watchChildren, countInForce, failedApplies, firstReadAt, idle, localAgentArgv, ratio, renderCompact, replaceFile, waitInForce, withFreshHost } from './agent-lab.ts';
import { commandLine, flavours, LABEL, load, logLines, logTime, machine, median, ms, outpostArgv, parseArgs, stats, statsTable, writeResults, type Flavour, type Stats } from './lib.ts';
import { POLICIES_PER_FILE, describeLarge, largePolicy, largeSizeFromArgs, policyFile, policyFileYaml, policyName, writeLargeSet } from './policy-set-large.ts';

const args = parseArgs(process.argv.slice(2));
if (!args.has('bin') && !process.env['OUTPOST_BENCH_BIN']) args.set('bin', 'src');
const CHANGES = Number(args.get('changes') ?? 5);
const WARMUP = Number(args.get('warmup') ?? 1);
const { size, suffix } = largeSizeFromArgs(args);
const which = await flavours(args);
const P = Math.floor(size.policies / 2);
const NAME = policyName(P);

type Obj = Record<string, Record<string, unknown>>;

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-polchange-'));
try {
  const resources = join(dir, 'resources');
  await writeLargeSet(resources, size);
  const r = await renderCompact(outpostArgv(which[0]!), resources, join(dir, 'ruleset.json'));
  // The floor transaction: flush the policy's chains and add their rules again, as rendered.
  const doc = JSON.parse(await readFile(r.compact, 'utf8')) as { nftables: Obj[] };
  const chains = [`pi-${NAME}`, `po-${NAME}`];
  const rules = doc.nftables.filter((c) => {
    const rule = (c['add']?.['rule'] ?? c['rule']) as { chain?: string } | undefined;
    return rule !== undefined && chains.includes(rule.chain ?? '');
  });
  if (rules.length === 0) throw new Error(`no rules for chains ${chains.join(', ')} in the rendered ruleset`);
  const chainFile = join(dir, 'chain.json');
  await writeFile(chainFile, JSON.stringify({ nftables: [...chains.map((name) => ({ flush: { chain: { family: 'inet', table: 'outpost', name } } })), ...rules] }));
  const trivialFile = join(dir, 'trivial.json');
  await writeFile(trivialFile, JSON.stringify({ nftables: [{ add: { table: { family: 'inet', name: 'outpost' } } }] }));
  const file = join(resources, policyFile(P));
  const first = Math.floor(P / POLICIES_PER_FILE) * POLICIES_PER_FILE;

  const run = (f: Flavour) =>
    withFreshHost((floor) =>
      withFreshHost(async (gw) => {
        await floor.exec(['nft', '-j', '-f', r.compact]);
        const p = gw.spawn(localAgentArgv(outpostArgv(f), resources, join(dir, `state-${f}`), false));
        await waitInForce(p, 1, 300_000);
        await idle(p.pid!, 180_000);
        const out = { total: [] as number[], work: [] as number[], nft: [] as number[], chain: [] as number[], trivial: [] as number[] };
        let port = 0;
        for (let c = 0; c < WARMUP + CHANGES; c++) {
          port = 30000 + c + (f === 'dist' ? 1000 : 0);
          const before = countInForce(p.stderr);
          const kids = watchChildren(p.pid!);
          const tWrite = await replaceFile(file, policyFileYaml(first, size, (i) => (i === P ? largePolicy(P, port) : undefined)));
          await waitInForce(p, before + 1, 300_000);
          const inForce = logTime(logLines(p.stderr).filter((l) => l.msg === 'ruleset in force')[before]!);
          const nft = nftBefore(kids.stop(), inForce);
          const read = await firstReadAt(file);
          const failed = failedApplies(p.stderr);
          if (failed.length) throw new Error(`the agent logged a failed apply: ${JSON.stringify(failed[0])}`);
          const chain = await floor.time(['nft', '-j', '-f', chainFile]);
          const trivial = await floor.time(['nft', '-j', '-f', trivialFile]);
          if (c >= WARMUP) {
            out.total.push(inForce - tWrite);
            out.work.push(inForce - read);
            out.nft.push(nft);
            out.chain.push(chain);
            out.trivial.push(trivial);
          }
          console.error(`${LABEL[f]} change ${c + 1}: write → in force ${ms(inForce - tWrite)} ms, agent's work ${ms(inForce - read)} ms (its nft ${ms(nft)} ms); floor: chains ${ms(chain)} ms, trivial ${ms(trivial)} ms (load ${load()})`);
          await idle(p.pid!, 180_000);
        }
        const listed = await gw.exec(['nft', 'list', 'chain', 'inet', 'outpost', `pi-${NAME}`]);
        if (!listed.stdout.includes(String(port))) throw new Error(`chain pi-${NAME} does not hold port ${port} after the last change`);
        await p.stop();
        return out;
      }),
    );

  const results = new Map<Flavour, Awaited<ReturnType<typeof run>>>();
  for (const f of which) results.set(f, await run(f));

  const rows: [string, Stats][] = [];
  for (const [f, x] of results) {
    rows.push([`${LABEL[f]}: write → "ruleset in force"`, stats(x.total)]);
    rows.push([`${LABEL[f]}: the agent's work (first read of the file → in force)`, stats(x.work)]);
    rows.push([`${LABEL[f]}: of which its nft processes (seen in /proc, up to the line)`, stats(x.nft)]);
  }
  const all = [...results.values()];
  const chainMed = median(all.flatMap((x) => x.chain));
  const trivialMed = median(all.flatMap((x) => x.trivial));
  rows.push([`floor: flush + re-add of ${NAME}'s chains (${rules.length} rules), one \`nft -j -f\` transaction`, stats(all.flatMap((x) => x.chain))]);
  rows.push(['floor: trivial transaction (`nft -j -f` adding the existing table)', stats(all.flatMap((x) => x.trivial))]);
  const md = [
    `Command: \`${commandLine(['OUTPOST_BENCH_BIN', 'OUTPOST_BENCH_DIST'])}\` — ${CHANGES} changes after ${WARMUP} warm-up, each followed by one run of each floor.`,
    '',
    machine(),
    '',
    `Loaded table: ${describeLarge(size)} → ${r.rules} rules, ${r.chains} chains, ${r.sets} sets. Each change edits one port of ${NAME} (in ${policyFile(P)}, ${POLICIES_PER_FILE} policies).`,
    '',
    statsTable(rows, ['n', 'min', 'p50', 'max']),
    '',
    ...[...results].map(([f, x]) => `- ${LABEL[f]}: the agent's work over the chain floor (medians) **${ratio(median(x.work), chainMed)}**, over a trivial transaction ${ratio(median(x.work), trivialMed)}; its nft part over the chain floor ${ratio(median(x.nft), chainMed)}.`),
  ].join('\n');
  console.log(md);
  if (!args.has('no-write')) writeResults(`policy-change${suffix}`, md);
} finally {
  await rm(dir, { recursive: true, force: true });
}
