/**
 * Finding and reading the manifest files under the folder datastore's paths (the I/O edge of
 * file-source.ts).
 *
 * - Symbolic links are followed, to files and to folders (a config tool's or a Kubernetes
 *   ConfigMap's `name -> ..data/name` layout): a folder reached twice (a link back to a parent)
 *   is walked once, so a loop ends; a link whose target is missing is reported as dangling.
 * - Names starting with "." are not manifests (editor swap files, `.#name` locks).
 * - A file is read with a byte cap, never whole when it is larger, and the read says whether the
 *   file changed while it was being read (its size, times or inode moved).
 */
import { open, readdir, readlink, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { MAX_MANIFEST_BYTES } from '../model/limits.ts';

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** The model's manifest limit: a larger file is refused from its size, without reading it. */
export const MAX_FILE_BYTES = MAX_MANIFEST_BYTES;

export interface Listing {
  readonly files: string[];
  /** Links named like manifests whose target is missing: path → why (also listed in `files`). */
  readonly dangling: Map<string, string>;
  /** Sub-folders that cannot be read: path → why. What was read from them before stays. */
  readonly unreadable: Map<string, string>;
}

const isManifestName = (name: string) => EXTENSIONS.has(extname(name)) && !name.startsWith('.');

/** Every manifest file under `root` (itself, when it is a file), sorted; throws when `root` cannot be read. */
export async function listManifestFiles(root: string): Promise<Listing> {
  const st = await stat(root);
  const dangling = new Map<string, string>();
  const unreadable = new Map<string, string>();
  if (!st.isDirectory()) return { files: [root], dangling, unreadable };
  const files: string[] = [];
  const visited = new Set<string>([`${st.dev}:${st.ino}`]);
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (dir === root) throw e;
      unreadable.set(dir, `cannot read folder: ${(e as Error).message}`);
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isFile()) {
        if (isManifestName(e.name)) files.push(path);
      } else if (e.isDirectory()) {
        const d = await stat(path).catch(() => undefined);
        if (d && !visited.has(`${d.dev}:${d.ino}`)) {
          visited.add(`${d.dev}:${d.ino}`);
          await walk(path);
        }
      } else if (e.isSymbolicLink()) {
        const target = await stat(path).catch(() => undefined);
        if (!target) {
          // Only a link named like a manifest is worth a word; a dangling link to anything else is not ours.
          if (isManifestName(e.name)) dangling.set(path, `dangling symbolic link to ${await readlink(path).catch(() => '?')}`);
        } else if (target.isFile()) {
          if (isManifestName(e.name)) files.push(path);
        } else if (target.isDirectory() && !visited.has(`${target.dev}:${target.ino}`)) {
          visited.add(`${target.dev}:${target.ino}`);
          await walk(path);
        }
      }
    }
  };
  await walk(root);
  return { files: [...files, ...dangling.keys()].sort(), dangling, unreadable };
}

/** size, mtime, ctime, inode and device: any write, truncate, rename-over or link swap moves one of them. */
export function signatureOf(st: { size: bigint; mtimeNs: bigint; ctimeNs: bigint; ino: bigint; dev: bigint }): string {
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.dev}`;
}

export async function statSignature(path: string): Promise<{ signature: string; size: bigint; isFile: boolean; ctimeMs: number }> {
  const st = await stat(path, { bigint: true });
  // ctime (not settable from user space, moved by every write, truncate, chmod, rename): when the file last changed.
  return { signature: signatureOf(st), size: st.size, isFile: st.isFile(), ctimeMs: Number(st.ctimeNs / 1_000_000n) };
}

export type FileRead =
  | { readonly ok: true; readonly bytes: Uint8Array; readonly signature: string; readonly changedWhileRead: boolean }
  | { readonly ok: false; readonly tooLarge: true; readonly size: bigint; readonly signature: string };

/** Reads at most `maxBytes` of a file; throws on I/O errors. */
export async function readManifestFile(path: string, maxBytes = MAX_FILE_BYTES): Promise<FileRead> {
  const fh = await open(path, 'r');
  try {
    const before = await fh.stat({ bigint: true });
    const signature = signatureOf(before);
    if (before.size > BigInt(maxBytes)) return { ok: false, tooLarge: true, size: before.size, signature };
    // One byte more than allowed tells a file that grew past the cap while we read.
    const buf = new Uint8Array(Math.min(maxBytes + 1, Number(before.size) + 64 * 1024));
    let n = 0;
    for (;;) {
      if (n === buf.length) break;
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    const after = signatureOf(await fh.stat({ bigint: true }));
    if (n > maxBytes) return { ok: false, tooLarge: true, size: BigInt(n), signature: after };
    return { ok: true, bytes: buf.subarray(0, n), signature, changedWhileRead: after !== signature || BigInt(n) !== before.size };
  } finally {
    await fh.close();
  }
}
