/**
 * `bun run build`: cross-compiles outpost for every target into dist/outpost-<target>, and copies
 * this machine's own build to dist/outpost (what the tests and benchmarks run).
 *
 *   bun scripts/build.ts                      every target
 *   bun scripts/build.ts --target linux-arm64 one (repeatable)
 *
 * The runtimes for other targets are downloaded by bun from the npm registry on first use and
 * cached. Packaging (firmware images, tarballs, .deb) is scripts/package.ts.
 */
import { parseArgs } from 'node:util';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compile, ROOT } from './build/compile.ts';
import { sourceCommit } from '../src/platform/build-info.ts';
import { binaryPath, hostTarget, targetByName, TARGETS, type Target } from './build/targets.ts';
import { bunVersionProblem } from './build/bun-version.ts';

const versionProblem = bunVersionProblem(ROOT);
if (versionProblem) {
  console.error(`build: ${versionProblem}`);
  process.exit(2);
}

const { values } = parseArgs({ options: { target: { type: 'string', multiple: true } } });
const wanted: Target[] = [];
for (const name of values.target ?? TARGETS.map((t) => t.name)) {
  const target = targetByName(name);
  if (!target) {
    console.error(`unknown target '${name}'; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
    process.exit(2);
  }
  wanted.push(target);
}

const dist = join(ROOT, 'dist');
await mkdir(dist, { recursive: true });
const commit = sourceCommit();
for (const target of wanted) {
  const started = performance.now();
  const out = binaryPath(dist, target);
  await compile(target, out, undefined, commit);
  const size = (await stat(out)).size;
  console.log(`built ${out} (${(size / 1024 / 1024).toFixed(1)} MiB, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  if (target.name === hostTarget().name) await copyFile(out, join(dist, 'outpost'));
}
