/**
 * An anonymous in-memory file (memfd_create) holding one nft document, so nft can be fed
 * without writing anything to disk: a full or read-only state dir must not stop the agent from
 * enforcing. nft opens it by path (`/proc/<our pid>/fd/<n>`), so the transaction stays one
 * `nft -j -f <file>` (nft reads the whole file, then commits it in one netlink batch).
 *
 * Why not stdin: under Bun, execa's `input` is a socket, and nft opens /dev/stdin, which
 * fails on a socket (ENXIO). memfd_create is not in Node's API, hence bun:ffi; glibc and musl
 * both export it. Without it (old kernel, no libc found) the caller falls back to a file.
 */
import { closeSync, writeSync } from 'node:fs';

type MemfdCreate = (name: Uint8Array, flags: number) => number;

let cached: MemfdCreate | null | undefined;

const LIBC_NAMES = ['libc.so.6', `libc.musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`, 'libc.so'];
const MFD_CLOEXEC = 1;

async function memfdCreate(): Promise<MemfdCreate | null> {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const { dlopen, FFIType } = await import('bun:ffi');
    for (const name of LIBC_NAMES) {
      try {
        const lib = dlopen(name, { memfd_create: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 } });
        cached = (n, flags) => lib.symbols.memfd_create(n, flags);
        break;
      } catch {
        // next candidate
      }
    }
  } catch {
    // no FFI in this runtime
  }
  return cached;
}

export interface MemFile {
  /** A path nft can open: this process's descriptor, through /proc. */
  readonly path: string;
  close(): void;
}

/** Bytes per write(2); one buffer, reused for every write. */
const CHUNK = 256 * 1024;
/** Characters joined before one encodeInto (well under CHUNK: a run is at most 3 bytes a character). */
const BATCH = 16 * 1024;

/**
 * Writes the concatenation of `pieces` to `fd` as UTF-8, through one reused buffer: the whole
 * text is never one string, and no buffer per chunk is left for the collector (the caller's
 * pieces come from a generator, fullDocumentJson, at 25,000 rules 11 MiB of them).
 */
export function writePieces(fd: number, pieces: Iterable<string>): void {
  const buf = new Uint8Array(CHUNK);
  const enc = new TextEncoder();
  let used = 0;
  const flush = () => {
    for (let off = 0; off < used; ) off += writeSync(fd, buf, off, used - off);
    used = 0;
    // Each chunk leaves ~256 KiB of small strings behind; a young-generation collection per
    // chunk keeps them from piling up to the size of the document (measured at 25,000 rules:
    // every other chunk +5 MiB of peak RSS instead of +25; every chunk about 1.5 MiB less
    // again, which keeps the 1,000 x 10 node's peak under 120 MiB, for ~20 ms more).
    Bun.gc(false);
  };
  // Pieces are short (a rule is three), and each encodeInto call costs more than the bytes it
  // copies: they are joined into runs of about BATCH characters first.
  const batch: string[] = [];
  let batched = 0;
  const put = (text: string) => {
    let p = text;
    for (;;) {
      const { read, written } = enc.encodeInto(p, buf.subarray(used));
      used += written;
      if (read === p.length) break;
      // The buffer is full (or too full for the next character): write it, go on with the rest.
      p = p.slice(read);
      flush();
    }
  };
  const putBatch = () => {
    if (batch.length) put(batch.length === 1 ? batch[0]! : batch.join(''));
    batch.length = 0;
    batched = 0;
  };
  for (const p of pieces) {
    // A long piece (a big set's elements) goes as it is, never copied into a run.
    if (p.length >= BATCH) {
      putBatch();
      put(p);
      continue;
    }
    batch.push(p);
    batched += p.length;
    if (batched >= BATCH) putBatch();
  }
  putBatch();
  flush();
}

/** The text `pieces()` yields in a fresh memfd, or an Error saying why there is none. Close-on-exec: nft opens the path. */
export async function memFile(pieces: () => Iterable<string>): Promise<MemFile | Error> {
  const create = await memfdCreate();
  if (!create) return new Error('memfd_create is not available');
  const fd = create(new TextEncoder().encode('outpost-ruleset\0'), MFD_CLOEXEC);
  if (fd < 0) return new Error('memfd_create failed');
  try {
    writePieces(fd, pieces());
  } catch (e) {
    closeSync(fd);
    return e as Error;
  }
  return { path: `/proc/${process.pid}/fd/${fd}`, close: () => closeSync(fd) };
}
