/**
 * dist/outpost-<version>-<target>.tar.gz from the staged firmware-images/<target>/, with one top
 * folder outpost-<version>-<target>/.
 *
 * GNU tar writes a ustar archive (BusyBox tar reads it) with fixed owners, modes and mtimes and
 * sorted names, so the same staged files give the same bytes. gzip because every tar has it
 * (BusyBox included); compressed by the runtime's zlib (level 6, no name or time in the header),
 * which is about three times faster than gzip(1) on the 110 MiB binary, and runs off the main
 * thread, so two tarballs compress on two cores.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export const GZIP_LEVEL = 6;
const BLOCK = 1 << 20;

/**
 * Re-cuts a stream into 1 MiB blocks. The runtime's deflate output depends on how its input is
 * split (a pipe hands over whatever it holds), so without this the same tar gave different
 * .tar.gz bytes from run to run.
 */
function fixedBlocks(): Transform {
  let held: Buffer[] = [];
  let length = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      held.push(chunk);
      length += chunk.length;
      if (length >= BLOCK) {
        const all = Buffer.concat(held);
        let at = 0;
        for (; all.length - at >= BLOCK; at += BLOCK) this.push(all.subarray(at, at + BLOCK));
        held = [all.subarray(at)];
        length = all.length - at;
      }
      done();
    },
    flush(done) {
      if (length > 0) this.push(Buffer.concat(held));
      done();
    },
  });
}

/** GNU tar options that make the archive independent of who staged it, and when. */
export function reproducibleTarFlags(epoch: number): string[] {
  return ['--format=ustar', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`, '--mode=go-w'];
}

/** Writes `out` (.tar.gz) holding `stagedDir` renamed to `top`. */
export async function writeTarball(stagedDir: string, top: string, out: string, epoch: number): Promise<void> {
  const from = basename(stagedDir);
  // Anchored on the first path component only, so nothing inside is renamed.
  const transform = `--transform=s,^${from.replace(/[.]/g, '\\.')}\\(/\\|$\\),${top}\\1,`;
  const tar = spawn('tar', [...reproducibleTarFlags(epoch), transform, '-C', dirname(stagedDir), '-cf', '-', from], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  tar.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => resolve(code));
  });
  const tmp = `${out}.tmp`;
  try {
    await pipeline(tar.stdout, fixedBlocks(), createGzip({ level: GZIP_LEVEL }), createWriteStream(tmp));
    const code = await exited;
    if (code !== 0) throw new Error(`tar exited ${code} for ${stagedDir}: ${stderr.trim()}`);
    await rename(tmp, out);
  } catch (e) {
    tar.kill();
    await rm(tmp, { force: true });
    throw e;
  }
}
