/**
 * Benchmark: one member added to a GlobalNetworkSet while the agent runs (local mode), at 1,000
 * and at 100,000 members in the same run, beside its floors: `nft add element` of one address
 * into a set of the same size, as an interval set and as a hash set, and a trivial nft
 * transaction. Target (issue 12): the change at 100,000 members costs at most 2× what it costs at
 * 1,000, and its nft part stays within 3× a trivial transaction.
 *
 * Setup per size: a fresh namespace gw; the standard policy set (policy-set.ts) plus members.yaml,
 * a GlobalNetworkSet of N host addresses (/32) and a policy that denies them on gw; `outpost
 * agent --resources DIR` (no --once) started there and left to apply and go idle. Two more fresh
 * namespaces hold the floors: table `inet bench` with an interval set of the same N addresses in
 * one, with a hash set in the other (nft fetches the elements of every interval set in sight for
 * an element command, so the two must not share a namespace).
 *
 * The set starts with N − (warm-up + changes) members (Calico caps a list at 100,000 entries), so
 * the last change brings it to exactly N.
 *
 * Each change: members.yaml rewritten with one more member (temporary file renamed over it, as
 * editors do), then the agent's next `"ruleset in force"` line. Spans:
 * - write → in force: the rename to the line's time. It includes the folder source's polling
 *   (every 250 ms) and its wait for the file to stay unchanged for 300 ms, about 0.5–0.75 s that
 *   do not depend on the set size;
 * - the agent's work: from its first read of the new file (the file's atime: relatime updates it
 *   on the first read after a write, at the kernel's coarse clock, a few ms) to the line;
 * - of which its nft: the lifetime of the nft processes the agent started before the line,
 *   watched in /proc every millisecond (the nft part of the target).
 * Then the floors, one each, alternating with the changes; the agent is left to go idle (no nft
 * child, under 30 ms of CPU in 500 ms) before the next change. At the end the last address is looked up
 * in the kernel.
 *
 * Relay mode (a snapshot from a real Mosquitto) is not measured here: see docs/benchmarks.md.
 *
 * usage: bun scripts/bench/set-member-change.ts [--sizes 1000,100000] [--changes 5] [--warmup 1] [--bin src|dist|both] [--no-build] [--no-write]
 *        (default --bin src)
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countInForce as count, nftBefore, watchChildren, failedApplies, firstReadAt, idle, localAgentArgv, ratio, replaceFile, waitInForce, withFreshHost } from './agent-lab.ts';
import { commandLine, flavours, LABEL, load, logLines, logTime, machine, median, ms, outpostArgv, parseArgs, stats, statsTable, writeResults, type Flavour, type Stats } from './lib.ts';
import { memberAddr, memberPolicyYaml, memberSetYaml } from './policy-set-large.ts';
import { describeSet, policySetYaml } from './policy-set.ts';

const args = parseArgs(process.argv.slice(2));
if (!args.has('bin') && !process.env['OUTPOST_BENCH_BIN']) args.set('bin', 'src');
const SIZES = String(args.get('sizes') ?? '1000,100000').split(',').map(Number);
const CHANGES = Number(args.get('changes') ?? 5);
const WARMUP = Number(args.get('warmup') ?? 1);
const which = await flavours(args);

interface SizeResult {
  size: number;
  flavour: Flavour;
  total: number[];
  work: number[];
  nft: number[];
  interval: number[];
  hash: number[];
  trivial: number[];
}

async function measure(size: number, f: Flavour, dir: string): Promise<SizeResult> {
  const res = join(dir, `res-${size}-${f}`);
  await mkdir(res, { recursive: true });
  await writeFile(join(res, 'policy-set.yaml'), policySetYaml());
  const members = join(res, 'members.yaml');
  const membersText = (n: number) => memberSetYaml(n) + memberPolicyYaml();
  // Calico's lists stop at 100,000 entries (MAX_COLLECTION_ITEMS): start below the size so the
  // last change reaches it exactly.
  const base = size - WARMUP - CHANGES;
  await writeFile(members, membersText(base));
  // One namespace per floor set: an element command makes nft fetch the elements of every
  // interval set it can see, so a big interval set beside the hash set would slow the hash floor too.
  const elems = Array.from({ length: base }, (_, i) => memberAddr(i)).join(', ');
  const ivFile = join(dir, `floor-iv-${size}.nft`);
  const hFile = join(dir, `floor-h-${size}.nft`);
  await writeFile(ivFile, `table inet bench {\n set iv { type ipv4_addr; flags interval; elements = { ${elems} } }\n}\n`);
  await writeFile(hFile, `table inet bench {\n set h { type ipv4_addr; elements = { ${elems} } }\n}\n`);

  const out: SizeResult = { size, flavour: f, total: [], work: [], nft: [], interval: [], hash: [], trivial: [] };
  return withFreshHost((ivHost) => withFreshHost((floor) =>
    withFreshHost(async (gw) => {
      await ivHost.exec(['nft', '-f', ivFile]);
      await floor.exec(['nft', '-f', hFile]);
      const p = gw.spawn(localAgentArgv(outpostArgv(f), res, join(dir, `state-${size}-${f}`), false));
      await waitInForce(p, 1, 300_000);
      await idle(p.pid!);
      let n = base;
      for (let c = 0; c < WARMUP + CHANGES; c++) {
        const before = count(p.stderr);
        const text = membersText(n + 1);
        const kids = watchChildren(p.pid!);
        const tWrite = await replaceFile(members, text);
        await waitInForce(p, before + 1, 120_000);
        n++;
        const line = logLines(p.stderr).filter((l) => l.msg === 'ruleset in force')[before]!;
        const inForce = logTime(line);
        const nft = nftBefore(kids.stop(), inForce);
        const read = await firstReadAt(members);
        // A refused file keeps its last valid version: an error line voids the run.
        const failed = [...failedApplies(p.stderr), ...logLines(p.stderr).filter((l) => ['error', 'fatal'].includes(String(l['level'])))];
        if (failed.length) throw new Error(`the agent logged a failed apply: ${JSON.stringify(failed[0])}`);
        const addr = memberAddr(n - 1);
        const iv = await ivHost.time(['nft', 'add', 'element', 'inet', 'bench', 'iv', `{ ${addr} }`]);
        const h = await floor.time(['nft', 'add', 'element', 'inet', 'bench', 'h', `{ ${addr} }`]);
        const t = await floor.time(['nft', 'add', 'table', 'inet', 'bench']);
        if (c >= WARMUP) {
          out.total.push(inForce - tWrite);
          out.work.push(inForce - read);
          out.nft.push(nft);
          out.interval.push(iv);
          out.hash.push(h);
          out.trivial.push(t);
        }
        console.error(`${LABEL[f]} ${size} members, change ${c + 1}: write → in force ${ms(inForce - tWrite)} ms, agent's work ${ms(inForce - read)} ms (its nft ${ms(nft)} ms); nft add element interval ${ms(iv)} / hash ${ms(h)} / trivial ${ms(t)} ms (load ${load()})`);
        await idle(p.pid!);
      }
      // The line is the agent's claim; the kernel is the proof.
      const last = memberAddr(n - 1);
      const sets = JSON.parse((await gw.exec(['nft', '-t', '-j', 'list', 'sets', 'inet'])).stdout) as { nftables: { set?: { name: string; table: string; type: string } }[] };
      let found = false;
      for (const s of sets.nftables.flatMap((o) => (o.set && o.set.table === 'outpost' && o.set.type === 'ipv4_addr' ? [o.set.name] : []))) {
        if ((await gw.exec(['nft', 'get', 'element', 'inet', 'outpost', s, `{ ${last} }`], { reject: false })).exitCode === 0) found = true;
      }
      if (!found) throw new Error(`${last} is in no set of inet outpost after the last change`);
      await p.stop();
      return out;
    }),
  ));
}

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-members-'));
try {
  const results: SizeResult[] = [];
  for (const f of which) for (const size of SIZES) results.push(await measure(size, f, dir));

  const rows: [string, Stats][] = [];
  for (const r of results) {
    const who = which.length > 1 ? `${LABEL[r.flavour]}, ` : '';
    rows.push([`${who}${r.size} members: write → "ruleset in force"`, stats(r.total)]);
    rows.push([`${who}${r.size} members: the agent's work (first read of the file → in force)`, stats(r.work)]);
    rows.push([`${who}${r.size} members: of which its nft processes (seen in /proc, up to the line)`, stats(r.nft)]);
  }
  for (const size of SIZES) {
    const r = results.find((x) => x.size === size)!;
    rows.push([`floor: \`nft add element\` into a ${size}-member interval set`, stats(r.interval)]);
    rows.push([`floor: \`nft add element\` into a ${size}-member hash set`, stats(r.hash)]);
  }
  rows.push(['floor: trivial nft transaction (`nft add table` of an existing table)', stats(results.flatMap((r) => r.trivial))]);
  const verdicts = which.map((f) => {
    const lo = results.find((r) => r.flavour === f && r.size === Math.min(...SIZES));
    const hi = results.find((r) => r.flavour === f && r.size === Math.max(...SIZES));
    if (!lo || !hi || lo === hi) return '';
    const x = median(hi.work) / median(lo.work);
    return `- ${LABEL[f]}: the agent's work at ${hi.size} / at ${lo.size} members (medians): **${x.toFixed(2)}** — target ≤ 2: ${x <= 2 ? '**met**' : '**missed**'}; write → in force: ${ratio(median(hi.total), median(lo.total))}. Agent's work at ${hi.size} over a trivial nft transaction: ${ratio(median(hi.work), median(results.flatMap((r) => r.trivial)))}; its nft part: ${ratio(median(hi.nft), median(results.flatMap((r) => r.trivial)))} (target ≤ 3: ${median(hi.nft) <= 3 * median(results.flatMap((r) => r.trivial)) ? '**met**' : '**missed**'}).`;
  });
  const md = [
    `Command: \`${commandLine(['OUTPOST_BENCH_BIN', 'OUTPOST_BENCH_DIST'])}\` — ${CHANGES} changes per size after ${WARMUP} warm-up, each followed by one run of each floor.`,
    '',
    machine(),
    '',
    `Resources: ${describeSet()}, plus a GlobalNetworkSet of N host addresses (/32) and a policy denying it on gw. Each change adds one address.`,
    '',
    statsTable(rows, ['n', 'min', 'p50', 'max']),
    '',
    ...verdicts,
  ].join('\n');
  console.log(md);
  if (!args.has('no-write')) writeResults('set-member-change', md);
} finally {
  await rm(dir, { recursive: true, force: true });
}
