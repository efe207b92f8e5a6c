/**
 * The compiled binary the demo runs: dist/outpost, rebuilt for this machine first when it is
 * missing or older than what it is built from.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hostTarget } from '../build/targets.ts';

export const ROOT = join(import.meta.dir, '..', '..');
export const DIST_BINARY = join(ROOT, 'dist', 'outpost');

/** What a build depends on; an mtime check is enough for a demo (git checkouts touch files). */
const INPUTS = ['src', 'package.json', 'bun.lock', 'scripts/build.ts', 'scripts/build'];

async function newestMtime(path: string): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of await readdir(path, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const m = (await stat(join(e.parentPath, e.name))).mtimeMs;
    if (m > newest) newest = m;
  }
  return newest;
}

/** Builds dist/outpost unless it is newer than every input; says which it did. */
export async function ensureBinary(say: (line: string) => void): Promise<void> {
  const built = await newestMtime(DIST_BINARY);
  const sources = Math.max(...(await Promise.all(INPUTS.map((p) => newestMtime(join(ROOT, p))))));
  if (built > sources) return;
  const target = hostTarget().name;
  say(built ? `dist/outpost is older than src/: building ${target} ...` : `no dist/outpost yet: building ${target} ...`);
  const p = Bun.spawn([process.execPath, join(ROOT, 'scripts', 'build.ts'), '--target', target], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`build failed (exit ${code}):\n${out}${err}`);
  say(out.trim());
}
