/**
 * `bun run package`: from dist/outpost-<target> (scripts/build.ts) and firmware-images/common,
 * builds for every target (or each --target NAME):
 *
 *   firmware-images/<target>/                     the staged image (gitignored)
 *   dist/outpost-<version>-<target>.tar.gz        + .sha256   (install.sh / uninstall.sh inside)
 *   dist/outpost_<version>_<amd64|arm64>.deb      + .sha256   (targets that carry a .deb)
 *
 * Jobs run two at a time (or one per core, if fewer): each is one compressor on one core, and a
 * tarball is CPU-bound in zlib while a .deb is CPU-bound in dpkg-deb. Archives are reproducible:
 * fixed owners and modes, sorted names, and every mtime set to SOURCE_DATE_EPOCH (default: the
 * time of the last commit).
 */
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { TARGETS, targetByName, type Target } from './build/targets.ts';
import { ROOT, debPath, stageDir, tarballPath, tarballStem } from './package/layout.ts';
import { MissingBinaryError, requireBinary, stageTarget } from './package/stage.ts';
import { writeTarball } from './package/tarball.ts';
import { writeDeb } from './package/deb.ts';
import { writeChecksum } from './package/checksum.ts';

const { values } = parseArgs({ options: { target: { type: 'string', multiple: true } } });
const wanted: Target[] = [];
for (const name of values.target ?? TARGETS.map((t) => t.name)) {
  const target = targetByName(name);
  if (!target) {
    console.error(`package: unknown target '${name}'; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
    process.exit(2);
  }
  wanted.push(target);
}

function sourceDateEpoch(): number {
  const fromEnv = process.env['SOURCE_DATE_EPOCH'];
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv)) return Number(fromEnv);
  const git = Bun.spawnSync(['git', 'log', '-1', '--format=%ct'], { cwd: ROOT, stderr: 'ignore' });
  const out = git.stdout.toString().trim();
  return git.exitCode === 0 && /^\d+$/.test(out) ? Number(out) : 0;
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const mib = async (path: string) => `${((await stat(path)).size / 1024 / 1024).toFixed(1)} MiB`;

interface Job {
  readonly name: string;
  run(): Promise<string>;
}

/** Runs `jobs` with at most `width` at a time; the first failure is thrown once all settled. */
async function runAll(jobs: readonly Job[], width: number): Promise<void> {
  const queue = [...jobs];
  const errors: unknown[] = [];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const started = performance.now();
      try {
        console.log(`packaged ${await job.run()} (${seconds(started)})`);
      } catch (e) {
        errors.push(e);
        queue.length = 0;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

const started = performance.now();
try {
  // Every binary first: a missing one stops packaging before anything is written.
  for (const target of wanted) await requireBinary(target);
  const epoch = sourceDateEpoch();
  const jobs: Job[] = [];
  // The .deb jobs first: they take longest, so they should not be the tail.
  for (const target of wanted) {
    const deb = target.deb;
    if (deb === undefined) continue;
    jobs.push({
      name: `deb ${deb}`,
      run: async () => {
        const out = debPath(deb);
        await writeDeb({ ...target, deb }, out, epoch);
        await writeChecksum(out);
        return `${basename(out)} (${await mib(out)})`;
      },
    });
  }
  for (const target of wanted) {
    jobs.push({
      name: `tarball ${target.name}`,
      run: async () => {
        const out = tarballPath(target);
        await writeTarball(await stageTarget(target), tarballStem(target), out, epoch);
        await writeChecksum(out);
        return `${basename(out)} (${await mib(out)}; staged ${stageDir(target)})`;
      },
    });
  }
  await runAll(jobs, Math.min(2, availableParallelism()));
  console.log(`package: ${jobs.length} artifacts in ${seconds(started)}`);
} catch (e) {
  console.error(`package: ${e instanceof MissingBinaryError ? e.message : e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
}
