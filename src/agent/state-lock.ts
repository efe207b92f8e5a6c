/**
 * One agent per state directory: two agents on one state dir would fight over the same nft
 * table and the same cache, each undoing the other's ruleset. The lock is flock(2) on the state
 * directory itself:
 * - the kernel releases it when the holder dies, kill -9 included, so there is no stale lock;
 * - it needs no file, so it also works on a read-only or full state dir;
 * - the descriptor is close-on-exec, so a hung nft child never keeps it alive.
 * flock is not in Node's API, hence bun:ffi (glibc and musl both export it).
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';

export type LockResult = { ok: true; release: () => void } | { ok: false; held: boolean; message: string };

const LIBC_NAMES = ['libc.so.6', `libc.musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`, 'libc.so'];
const LOCK_EX = 2;
const LOCK_NB = 4;

async function flockFn(): Promise<((fd: number, op: number) => number) | undefined> {
  try {
    const { dlopen, FFIType } = await import('bun:ffi');
    for (const name of LIBC_NAMES) {
      try {
        const lib = dlopen(name, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
        return (fd, op) => lib.symbols.flock(fd, op);
      } catch {
        // next candidate
      }
    }
  } catch {
    // no FFI in this runtime
  }
  return undefined;
}

/**
 * The pid holding a flock on this directory, from /proc/locks: undefined when none does, or when
 * /proc cannot be read (best effort). Reading it takes no lock, so `outpost status` can ask
 * without ever making a starting agent think a second one is running.
 */
export function holderPid(dir: string): number | undefined {
  try {
    const ino = statSync(dir).ino;
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
      if (f[1] === 'FLOCK' && f[5]?.endsWith(`:${ino}`)) return Number(f[4]);
    }
  } catch {
    // no /proc: the message just has no pid
  }
  return undefined;
}

/** Takes the state dir's lock without waiting; `held` is true when another process has it. */
export async function lockStateDir(dir: string): Promise<LockResult> {
  const flock = await flockFn();
  if (!flock) return { ok: false, held: false, message: 'flock is not available (no libc found through bun:ffi)' };
  let fd: number;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    fd = openSync(dir, 'r');
  } catch (e) {
    return { ok: false, held: false, message: `cannot open the state directory ${dir}: ${(e as Error).message}` };
  }
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    const pid = holderPid(dir);
    return { ok: false, held: true, message: `another outpost agent${pid ? ` (pid ${pid})` : ''} is running on the state directory ${dir}; refusing to start a second one` };
  }
  return { ok: true, release: () => closeSync(fd) };
}
