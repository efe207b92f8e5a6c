/**
 * `--check-config`'s look at the filesystem: every file and folder a path setting names must be
 * there and readable, so a typo in a path is found by the check an init script runs, not by the
 * daemon hours later. Driven by the settings table's `path` metadata, so a path setting added
 * to a table is checked without touching this file.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Setting } from './settings.ts';

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot be read (permission denied)';
  if (code === 'ENOTDIR') return 'does not exist (a part of the path is not a folder)';
  return `cannot be read (${(e as Error).message})`;
}

/** A file or folder the command reads: it must exist and be readable. */
function readProblem(path: string): string | undefined {
  try {
    const st = statSync(path);
    // A folder is read by listing it (R) and entering it (X).
    accessSync(path, st.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK);
    return undefined;
  } catch (e) {
    return reason(e);
  }
}

/** A folder the command creates when missing (state directories): it, or its nearest existing parent, must be a writable folder. */
function createdProblem(path: string): string | undefined {
  let p = path;
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return reason(e);
      const up = dirname(p);
      if (up === p) return 'cannot be created (no existing parent folder)';
      p = up;
      continue;
    }
    if (!st.isDirectory()) return p === path ? 'is not a folder' : `cannot be created: ${p} is not a folder`;
    try {
      accessSync(p, constants.W_OK | constants.X_OK);
      return undefined;
    } catch {
      return p === path ? 'is not writable' : `cannot be created: ${p} is not writable`;
    }
  }
}

/** An executable: a bare name is looked up on PATH, anything with a "/" must be an executable file. */
function commandProblem(cmd: string): string | undefined {
  if (!cmd.includes('/')) return Bun.which(cmd) ? undefined : 'is not on PATH';
  try {
    if (!statSync(cmd).isFile()) return 'is not a file';
    accessSync(cmd, constants.X_OK);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EACCES' ? 'is not executable' : reason(e);
  }
}

/**
 * Sentences naming the setting and the path, one per file or folder that the validated config
 * names and that is missing or unreadable (empty when all are there).
 */
export function pathProblems(table: readonly Setting[], config: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const s of table) {
    if (!s.path) continue;
    const val = config[s.key];
    const paths = typeof val === 'string' ? [val] : Array.isArray(val) ? val.filter((x): x is string => typeof x === 'string') : [];
    for (const p of paths) {
      if (p === '') continue;
      const problem = s.path === 'command' ? commandProblem(p) : s.path === 'created' ? createdProblem(p) : readProblem(p);
      if (problem) problems.push(`${s.key}: ${p} ${problem}`);
    }
  }
  return problems;
}
