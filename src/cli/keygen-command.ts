/**
 * `outpost keygen --out PATH [--force]`: a new ed25519 signing key pair for a relay.
 *
 * Writes PATH.key (PKCS#8 PEM, mode 0600) and PATH.pub (SPKI PEM, mode 0644), each atomically,
 * and prints the key id that snapshots will carry. Existing files are never replaced without
 * --force: replacing the relay's key locks out every agent that pinned the old public key.
 */
import { parseArgs } from 'node:util';
import { access } from 'node:fs/promises';
import { keyId } from '../protocol/key-id.ts';
import { generateSigningKeyPair, KeyFileExistsError, privateKeyToPem, publicKeyToPem, writeFileAtomic } from '../platform/signing.ts';
import type { CliIO } from './io.ts';
import { UsageError } from './io.ts';

export async function keygenCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { out: { type: 'string', short: 'o' }, force: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`keygen takes no arguments (got ${positionals.join(' ')})`);
  if (values.out === undefined || values.out === '') throw new UsageError('keygen needs --out PATH (writes PATH.key and PATH.pub)');
  // "--out relay.key" means the pair named "relay", not "relay.key.key".
  const base = values.out.replace(/\.(key|pub)$/, '');
  const keyPath = `${base}.key`;
  const pubPath = `${base}.pub`;
  const force = values.force === true;

  if (!force) {
    // Check both before writing either, so a refusal never leaves half a pair behind.
    const existing = [];
    for (const p of [keyPath, pubPath]) if (await exists(p)) existing.push(p);
    if (existing.length > 0) {
      io.err(`${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; use --force to replace (agents pinned to the old public key will refuse new snapshots)`);
      return 1;
    }
  }

  const pair = generateSigningKeyPair();
  try {
    await writeFileAtomic(keyPath, privateKeyToPem(pair.privateKey), { mode: 0o600, overwrite: force });
    await writeFileAtomic(pubPath, publicKeyToPem(pair.publicKey), { mode: 0o644, overwrite: force });
  } catch (e) {
    if (e instanceof KeyFileExistsError) {
      io.err(`${e.message}; use --force to replace`);
      return 1;
    }
    io.err(`cannot write the key pair: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  io.out(`wrote ${keyPath} (private, keep on the relay) and ${pubPath} (public, give to every agent)`);
  io.out(`key id ${keyId(pair.publicKey)}`);
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
