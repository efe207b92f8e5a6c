/**
 * The only module that runs nft. Each apply writes the document to a private file in the
 * state directory and runs `nft -j -f <file>` (one atomic transaction). A file, not stdin:
 * under Bun, execa's `input` is a socket and nft opens /dev/stdin, which fails on a socket. nft runs
 * in /: spawning fails (ENOENT) when the agent's own working directory has gone or is hidden.
 */
import { execa } from 'execa';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NftDocument } from './json-types.ts';
import { TABLE } from '../render/naming.ts';

export class NftApplyError extends Error {
  readonly code = 'NFT_APPLY' as const;
  constructor(message: string, readonly exitCode: number | undefined, readonly stderr: string) {
    super(message);
  }
}

export type NftResult = { ok: true } | { ok: false; error: NftApplyError };

export class NftRunner {
  constructor(private readonly workDir: string, private readonly nftBin = 'nft') {}

  /** Applies the document atomically: nft commits all of it or none of it. */
  async apply(doc: NftDocument | string, check = false): Promise<NftResult> {
    await mkdir(this.workDir, { recursive: true, mode: 0o700 });
    const file = join(this.workDir, check ? 'ruleset.check.json' : 'ruleset.next.json');
    const tmp = `${file}.tmp`;
    await writeFile(tmp, typeof doc === 'string' ? doc : JSON.stringify(doc), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
    const args = check ? ['-c', '-j', '-f', file] : ['-j', '-f', file];
    const r = await execa(this.nftBin, args, { reject: false, timeout: 30_000, stdin: 'ignore', cwd: '/' });
    if (r.exitCode === 0) return { ok: true };
    const stderr = String(r.stderr ?? '').trim();
    return { ok: false, error: new NftApplyError(`nft ${args.join(' ')} failed (exit ${r.exitCode}): ${stderr || r.shortMessage}`, r.exitCode, stderr) };
  }

  /** The table as nft lists it (JSON), or null when it does not exist. */
  async listTable(): Promise<unknown | null> {
    const r = await execa(this.nftBin, ['-j', 'list', 'table', 'inet', TABLE], { reject: false, timeout: 30_000, stdin: 'ignore', cwd: '/' });
    if (r.exitCode !== 0) return null;
    try {
      return JSON.parse(String(r.stdout));
    } catch {
      return null;
    }
  }

  /** Removes outpost's table (and only it); absent is fine. */
  async deleteTable(): Promise<NftResult> {
    const doc: NftDocument = { nftables: [{ add: { table: { family: 'inet', name: TABLE } } }, { delete: { table: { family: 'inet', name: TABLE } } }] };
    return this.apply(doc);
  }
}
