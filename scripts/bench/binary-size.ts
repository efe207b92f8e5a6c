/**
 * Benchmark: the size of every shipped binary, dist/outpost-<target>, raw and xz-compressed.
 *
 * Beside each one, the same figures for an empty program compiled for the same target with
 * the same options: the Bun runtime every binary carries, whatever outpost's own code weighs.
 * The difference is outpost's bundle (minified JS and its bytecode).
 *
 * dist/ is rebuilt first with `bun scripts/build.ts` (every target, the shipped options)
 * unless --no-build.
 *
 * usage: bun scripts/bench/binary-size.ts [--no-build] [--no-write]
 */
import { $ } from 'bun';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHIPPED } from '../build/compile.ts';
import { binaryPath, TARGETS } from '../build/targets.ts';
import { XZ_ARGS, mib, xzSize } from './binaries.ts';
import { ROOT, commandLine, machine, parseArgs, writeResults } from './lib.ts';

const args = parseArgs(process.argv.slice(2));
const dist = join(ROOT, 'dist');
if (!args.has('no-build') || TARGETS.some((t) => !existsSync(binaryPath(dist, t)))) {
  console.error('building every target (bun scripts/build.ts) ...');
  await $`bun scripts/build.ts`.cwd(ROOT).quiet();
}

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-size-'));
try {
  const empty = join(dir, 'empty.ts');
  await writeFile(empty, '');
  const rows: string[] = [];
  for (const t of TARGETS) {
    const file = binaryPath(dist, t);
    const floor = join(dir, `empty-${t.name}`);
    const built = await Bun.build({ entrypoints: [empty], compile: { target: t.bun, outfile: floor }, minify: SHIPPED.minify, bytecode: SHIPPED.bytecode, format: SHIPPED.format });
    if (!built.success) throw new Error(`empty program for ${t.name}: ${built.logs.map(String).join('\n')}`);
    console.error(`${t.name}: xz ...`);
    const [bytes, xz, floorBytes, floorXz] = [(await stat(file)).size, await xzSize(file), (await stat(floor)).size, await xzSize(floor)];
    rows.push(`| ${t.name} | ${t.arch}, ${t.libc} | ${mib(bytes)} | ${mib(xz)} | ${mib(floorBytes)} | ${mib(floorXz)} | ${mib(bytes - floorBytes)} | ${mib(xz - floorXz)} |`);
  }
  const md = [
    `Command: \`${commandLine()}\` — the binaries in dist/ (built with SHIPPED: ${JSON.stringify(SHIPPED)}); sizes in MiB (2^20 bytes); xz is \`xz ${XZ_ARGS.join(' ')} -c\`.`,
    '',
    machine(),
    '',
    '"Bun runtime" is an empty program compiled for the target with the same options; "outpost\'s part" is the difference.',
    '',
    '| target | arch, libc | size (MiB) | xz (MiB) | Bun runtime (MiB) | runtime xz (MiB) | outpost\'s part (MiB) | outpost\'s part, xz (MiB) |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
  console.log(md);
  if (!args.has('no-write')) writeResults('binary-size', md);
} finally {
  await rm(dir, { recursive: true, force: true });
}
