/**
 * Stages firmware-images/<target>/: the committed common/ tree plus the target's binary at
 * rootfs/usr/bin/outpost, a VERSION file, the example manifests (examples/) and pki.sh. That folder is what the tarball holds, and what
 * an image builder can take as is (run its install.sh with --root).
 */
import { cp, link, mkdir, readdir, rm, stat, utimes, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Target } from '../build/targets.ts';
import { binaryPath } from '../build/targets.ts';
import { COMMON, DIST, EXAMPLES, FIRMWARE, PKI_SCRIPT, stageDir, VERSION } from './layout.ts';

export class MissingBinaryError extends Error {
  readonly code = 'MISSING_BINARY' as const;
}

/** Fails with the command to run when dist/outpost-<target> was not built. */
export async function requireBinary(target: Target): Promise<string> {
  const path = binaryPath(DIST, target);
  try {
    if ((await stat(path)).isFile()) return path;
  } catch {
    // reported below
  }
  throw new MissingBinaryError(`${path} is missing: build it first with \`bun scripts/build.ts\` (or \`bun scripts/build.ts --target ${target.name}\`)`);
}

/**
 * A hard link where possible (dist/ and firmware-images/ are in one checkout): no 100 MiB copy
 * per target. Nothing writes through it; both names are replaced, never modified, by the build.
 */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

/** Sets every mtime under `dir` to `epoch` (seconds), so archives built from it are reproducible. */
export async function setMtimes(dir: string, epoch: number): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isSymbolicLink()) await utimes(join(entry.parentPath, entry.name), epoch, epoch);
  }
  await utimes(dir, epoch, epoch);
}

export async function stageTarget(target: Target): Promise<string> {
  const binary = await requireBinary(target);
  const dir = stageDir(target);
  if (!dir.startsWith(`${FIRMWARE}/`) || target.name === 'common') throw new Error(`refusing to stage into ${dir}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await cp(COMMON, dir, { recursive: true });
  await mkdir(join(dir, 'rootfs', 'usr', 'bin'), { recursive: true });
  await linkOrCopy(binary, join(dir, 'rootfs', 'usr', 'bin', 'outpost'));
  await writeFile(
    join(dir, 'VERSION'),
    `version=${VERSION}\ntarget=${target.name}\narch=${target.arch}\nlibc=${target.libc}\n# ${target.note}\n`,
  );
  await cp(join(FIRMWARE, 'README.md'), join(dir, 'README.md'));
  await cp(EXAMPLES, join(dir, 'examples'), { recursive: true });
  await cp(PKI_SCRIPT, join(dir, 'pki.sh'));
  return dir;
}
