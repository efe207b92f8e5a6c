/**
 * What this binary is: outpost's version, the git commit it was built from, the target it was
 * compiled for and the Bun runtime inside it. scripts/build.ts bakes the first three in with
 * `define`; running from source (`bun src/main.ts`) reports the working tree instead.
 */
import pkg from '../../package.json' with { type: 'json' };

// Replaced at build time by scripts/build.ts; undeclared when running from source.
declare const OUTPOST_COMMIT: string | undefined;
declare const OUTPOST_TARGET: string | undefined;

export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  readonly target: string;
  readonly bun: string;
  readonly compiled: boolean;
}

export function buildInfo(): BuildInfo {
  const compiled = typeof OUTPOST_TARGET === 'string';
  return {
    version: pkg.version,
    commit: typeof OUTPOST_COMMIT === 'string' ? OUTPOST_COMMIT : sourceCommit(),
    target: compiled ? OUTPOST_TARGET : `source (bun ${process.platform}-${process.arch})`,
    bun: Bun.version,
    compiled,
  };
}

/** `git describe` of the checkout this file is in; scripts/build.ts bakes the same into builds. */
export function sourceCommit(): string {
  try {
    const git = Bun.spawnSync(['git', 'describe', '--always', '--dirty', '--abbrev=12'], { cwd: import.meta.dir, stderr: 'ignore' });
    const out = git.stdout.toString().trim();
    return git.exitCode === 0 && out !== '' ? out : 'unknown';
  } catch {
    return 'unknown';
  }
}
