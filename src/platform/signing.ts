/**
 * ed25519 key files for snapshot signing: the relay holds the private key (PKCS#8 PEM, as
 * `openssl genpkey -algorithm ed25519` writes it), every agent pins the public key (SPKI PEM, as
 * `openssl pkey -pubout` writes it). Either side may come from openssl or from `outpost keygen`.
 *
 * Loading returns a result, not an exception: a bad key file is an operator mistake, and the
 * message must name the file and say what is wrong with it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { privateModeProblem } from './private-file.ts';

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export type KeyFileProblem = 'insecure-mode' | 'missing' | 'unreadable' | 'not-pem' | 'encrypted' | 'not-ed25519' | 'private-not-public' | 'public-not-private';

export type LoadKeyResult =
  | {
      readonly ok: true;
      readonly key: KeyObject;
      /** Only for private keys: the file is readable or writable by group or others. */
      readonly insecureMode: boolean;
      /** A line to log when `insecureMode` is set. */
      readonly warning?: string;
    }
  | { readonly ok: false; readonly problem: KeyFileProblem; readonly message: string };

export function generateSigningKeyPair(): KeyPair {
  return generateKeyPairSync('ed25519');
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function publicKeyToPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

/** Reads the relay's signing key. */
export async function loadPrivateKey(path: string): Promise<LoadKeyResult> {
  const read = await readKeyFile(path);
  if (!read.ok) return read;
  const fail = (problem: KeyFileProblem, why: string): LoadKeyResult => ({ ok: false, problem, message: `${path}: ${why}` });
  const label = pemLabel(read.text);
  if (label === undefined) return fail('not-pem', 'not a PEM file (expected "-----BEGIN PRIVATE KEY-----")');
  if (label === 'PUBLIC KEY') return fail('public-not-private', 'is a public key; the relay needs the private key (e.g. relay.key)');
  if (label === 'ENCRYPTED PRIVATE KEY') return fail('encrypted', 'is passphrase-protected; outpost needs an unencrypted PKCS#8 key (protect it with file permissions)');
  if (label === 'OPENSSH PRIVATE KEY') return fail('not-pem', 'is an OpenSSH key; create one with `outpost keygen` or `openssl genpkey -algorithm ed25519`');
  if (label !== 'PRIVATE KEY') return fail('not-ed25519', `holds a "${label}"; expected an ed25519 "PRIVATE KEY" (PKCS#8)`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: read.text, format: 'pem' });
  } catch (e) {
    return fail('not-pem', `cannot parse the private key: ${errorText(e)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') return fail('not-ed25519', `is a ${key.asymmetricKeyType ?? 'unknown'} key; snapshots are signed with ed25519`);
  // Refused, not warned about: a signing key others can read may already sign for someone else.
  const problem = privateModeProblem(path, read.mode);
  if (problem) return fail('insecure-mode', problem.slice(path.length + 2));
  return { ok: true, key, insecureMode: false };
}

/** Reads the pinned relay public key. */
export async function loadPublicKey(path: string): Promise<LoadKeyResult> {
  const read = await readKeyFile(path);
  if (!read.ok) return read;
  const fail = (problem: KeyFileProblem, why: string): LoadKeyResult => ({ ok: false, problem, message: `${path}: ${why}` });
  const label = pemLabel(read.text);
  if (label === undefined) return fail('not-pem', 'not a PEM file (expected "-----BEGIN PUBLIC KEY-----")');
  // Say it loudly: a private key on a host means whoever owns the host can sign policy for the fleet.
  if (label.endsWith('PRIVATE KEY')) return fail('private-not-public', 'is a PRIVATE key; give the agent the public key (e.g. relay.pub) and keep the private key on the relay only');
  if (label !== 'PUBLIC KEY') return fail('not-ed25519', `holds a "${label}"; expected an ed25519 "PUBLIC KEY" (SPKI)`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: read.text, format: 'pem' });
  } catch (e) {
    return fail('not-pem', `cannot parse the public key: ${errorText(e)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') return fail('not-ed25519', `is a ${key.asymmetricKeyType ?? 'unknown'} key; snapshots are signed with ed25519`);
  return { ok: true, key, insecureMode: false };
}

/**
 * Reads every trusted relay public key (several during a key rotation). Each file is checked as
 * loadPublicKey does; the first bad one fails the whole list, naming the file, so a typo in
 * the new key is found at start and not when the relay switches keys.
 */
export async function loadPublicKeys(paths: readonly string[]): Promise<{ ok: true; keys: KeyObject[] } | { ok: false; message: string }> {
  if (paths.length === 0) return { ok: false, message: 'no trusted public key given' };
  const keys: KeyObject[] = [];
  for (const path of paths) {
    const r = await loadPublicKey(path);
    if (!r.ok) return { ok: false, message: r.message };
    keys.push(r.key);
  }
  return { ok: true, keys };
}

type ReadResult = { ok: true; text: string; mode: number } | { ok: false; problem: KeyFileProblem; message: string };

async function readKeyFile(path: string): Promise<ReadResult> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return { ok: false, problem: 'unreadable', message: `${path}: not a regular file` };
    // Key files are a few hundred bytes; refuse to slurp something that is plainly not one.
    if (st.size > 64 * 1024) return { ok: false, problem: 'not-pem', message: `${path}: ${st.size} bytes is far too large for a key file` };
    return { ok: true, text: await readFile(path, 'utf8'), mode: st.mode };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, problem: 'missing', message: `${path}: no such file` };
    return { ok: false, problem: 'unreadable', message: `${path}: cannot read (${code ?? errorText(e)})` };
  }
}

function pemLabel(text: string): string | undefined {
  return /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class KeyFileExistsError extends Error {
  readonly code = 'KEY_FILE_EXISTS' as const;
}

/**
 * Writes `text` to `path` atomically: a temp file beside it (created with `mode`, fsynced), then
 * renamed over `path` (`overwrite`) or hard-linked to it, which fails if `path` exists, so two
 * runs can never both think they created the key. A crash leaves the old file or the new one,
 * never half a key; at worst a `.tmp-*` file stays behind.
 */
export async function writeFileAtomic(path: string, text: string, options: { mode: number; overwrite: boolean }): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, options.mode);
  try {
    await fh.writeFile(text);
    // The umask may have narrowed the mode; a private key must get exactly what was asked for.
    await fh.chmod(options.mode);
    await fh.sync();
  } catch (e) {
    // A full disk: the half-written file would keep the last free space (and, for a key, half of it).
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    if (options.overwrite) {
      await rename(tmp, path);
    } else {
      try {
        await link(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileExistsError(`${path} already exists`);
        throw e;
      }
      await unlink(tmp);
    }
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dirname(path));
}

/** Makes the rename itself durable; best effort, as some filesystems refuse fsync on a directory. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not fatal: the data itself is already on disk.
  }
}
