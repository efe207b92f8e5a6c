/**
 * Private key files (the relay's signing key, the etcd client key, TLS keys): refused when
 * group or others can read or write them. A key that others can read is a key that is already
 * out, so this is a refusal, not a warning; the message names the file and the fix. The key's
 * contents never appear in any message.
 */
import { stat } from 'node:fs/promises';

/** Why the file's mode is unsafe for a private key, or undefined when it is fine (0600, 0400). */
export function privateModeProblem(path: string, mode: number): string | undefined {
  if ((mode & 0o077) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  const who = mode & 0o044 ? 'readable' : 'writable';
  return `${path}: private key is ${who} by group or others (mode ${octal}); refusing to use it: run chmod 600 ${path} (and check who may have copied it)`;
}

/** Reads a private key file (at most 64 KiB), refusing a bad mode; throws Error with a message naming the file. */
export async function readPrivateFile(path: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (e as Error).message})`}`);
  }
  if (!st.isFile()) throw new Error(`${path}: not a regular file`);
  const problem = privateModeProblem(path, st.mode);
  if (problem) throw new Error(problem);
  return readSmallFile(path);
}

/** Reads a certificate or other small PEM file (at most 64 KiB). */
export async function readSmallFile(path: string): Promise<string> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > 64 * 1024) throw new Error(`${st.size} bytes is far too large for a PEM file`);
    return await Bun.file(path).text();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : code ? `cannot read (${code})` : (e as Error).message}`);
  }
}
