/**
 * Benchmark: nft's input format for the 1,000 × 10 node (policy-set-large.ts), each one atomic
 * transaction (`nft -f` reads the whole input, then commits all of it or none), in a fresh
 * namespace each time:
 *
 * - JSON pretty-printed, as `outpost render` prints it;
 * - compact JSON, the same document without whitespace (the bytes the agent hands nft);
 * - nft text (`nft -f`), the same table as `nft list table` prints it once the JSON is in,
 *   preceded by the same "add table, delete table" the JSON starts with.
 *
 * Each format's result is checked once: the kernel holds the same number of rules. The formats
 * rotate within each run; medians. `--replace` also times each format replacing the table in
 * force (the agent's full re-apply at run time), which costs more than creating it.
 *
 * usage: bun scripts/bench/nft-format.ts [--runs 3] [--replace] [--policies 1000] [--peers 500] [--sets 100] [--no-write]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelRuleCount, ratio, renderCompact, withFreshHost } from './agent-lab.ts';
import { commandLine, load, machine, MAIN, median, ms, parseArgs, stats, statsTable, writeResults, type Stats } from './lib.ts';
import { describeLarge, largeSizeFromArgs, writeLargeSet } from './policy-set-large.ts';

const args = parseArgs(process.argv.slice(2));
const RUNS = Number(args.get('runs') ?? 3);
const REPLACE = args.has('replace');
const { size, suffix } = largeSizeFromArgs(args);

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-format-'));
try {
  await writeLargeSet(join(dir, 'resources'), size);
  const r = await renderCompact([process.execPath, MAIN], join(dir, 'resources'), join(dir, 'ruleset.json'));
  const textFile = join(dir, 'ruleset.nft');
  const expected = await withFreshHost(async (h) => {
    await h.exec(['nft', '-j', '-f', r.compact]);
    const listed = await h.exec(['nft', 'list', 'table', 'inet', 'outpost']);
    await writeFile(textFile, `table inet outpost {}\ndelete table inet outpost\n${listed.stdout}`);
    return kernelRuleCount(h);
  });
  const textBytes = Bun.file(textFile).size;

  const formats = [
    { label: `JSON, pretty-printed as \`outpost render\` prints it (${(r.prettyBytes / 2 ** 20).toFixed(1)} MiB)`, argv: ['nft', '-j', '-f', r.pretty] },
    { label: `JSON, compact (${(r.bytes / 2 ** 20).toFixed(1)} MiB)`, argv: ['nft', '-j', '-f', r.compact] },
    { label: `nft text, \`nft -f\` (${(textBytes / 2 ** 20).toFixed(1)} MiB)`, argv: ['nft', '-f', textFile] },
  ];
  for (const f of formats) {
    const n = await withFreshHost(async (h) => (await h.exec(f.argv), kernelRuleCount(h)));
    if (n !== expected) throw new Error(`${f.label}: the kernel holds ${n} rules, the compact JSON gave ${expected}`);
  }

  const fresh = formats.map(() => [] as number[]);
  const replace = formats.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    for (let k = 0; k < formats.length; k++) {
      const j = (k + i) % formats.length;
      const f = formats[j]!;
      await withFreshHost(async (h) => {
        fresh[j]!.push(await h.time(f.argv));
        if (REPLACE) replace[j]!.push(await h.time(f.argv));
      });
      console.error(`#${i + 1} ${f.label}: ${ms(fresh[j]!.at(-1)!)} ms${REPLACE ? `, replacing ${ms(replace[j]!.at(-1)!)} ms` : ''} (load ${load()})`);
    }
  }

  const rows: [string, Stats][] = formats.map((f, j) => [`${f.label}, table absent`, stats(fresh[j]!)]);
  if (REPLACE) rows.push(...formats.map((f, j) => [`${f.label}, replacing the same table in force`, stats(replace[j]!)] as [string, Stats]));
  const compactMedian = median(fresh[1]!);
  const md = [
    `Command: \`${commandLine()}\` — ${RUNS} runs of each format, rotating, each in a fresh namespace.`,
    '',
    machine(),
    '',
    `Ruleset: ${describeLarge(size)} → ${r.rules} rules, ${r.chains} chains, ${r.sets} sets, as \`outpost render\` renders it for gw. Every format leaves the same ${expected} rules in the kernel (checked).`,
    '',
    statsTable(rows, ['n', 'min', 'p50', 'max']),
    '',
    `Ratios to compact JSON (medians, table absent): pretty JSON ${ratio(median(fresh[0]!), compactMedian)}, nft text ${ratio(median(fresh[2]!), compactMedian)}.`,
  ].join('\n');
  console.log(md);
  if (!args.has('no-write')) writeResults(`nft-format${suffix}`, md);
} finally {
  await rm(dir, { recursive: true, force: true });
}
