/**
 * The Bun version outpost is built with, pinned in one place: package.json's `packageManager`
 * ("bun@X.Y.Z"), which scripts/setup.sh installs. The runtime is part of every binary we ship,
 * so a build on another Bun would not be the binary the tests and benchmarks measured.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function pinnedBunVersion(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { packageManager?: unknown };
  const m = typeof pkg.packageManager === 'string' ? /^bun@(\d+\.\d+\.\d+)$/.exec(pkg.packageManager) : null;
  if (!m?.[1]) throw new Error('package.json: packageManager must be "bun@X.Y.Z" (the pinned Bun version)');
  return m[1];
}

/** An error message when the running Bun is not the pinned one, else undefined. */
export function bunVersionProblem(root: string, running: string = Bun.version): string | undefined {
  const pinned = pinnedBunVersion(root);
  return running === pinned
    ? undefined
    : `this is Bun ${running}, but outpost is built with Bun ${pinned} (package.json packageManager); run scripts/setup.sh, or change the pin on purpose`;
}
