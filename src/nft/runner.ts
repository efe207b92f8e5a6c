/**
 * The only module that runs nft. Each apply is one `nft -j -f <file>` (one atomic
 * transaction: nft reads the whole file, then commits all of it or none of it).
 *
 * The file is an in-memory memfd (memfd.ts) whenever the kernel offers one, so a full or
 * read-only state directory never stops enforcement; otherwise a private file in the state
 * directory. No failure here throws: a work file that cannot be written, an nft that is
 * missing, fails or hangs (killed after `timeoutMs`) all come back as an NftApplyError, which
 * the enforcer logs and retries. nft runs in /: spawning fails (ENOENT) when the agent's own
 * working directory has gone or is hidden.
 */
import { execa } from 'execa';
import { closeSync, openSync } from 'node:fs';
import { chmod, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { NftDocument } from './json-types.ts';
import { TABLE } from '../render/naming.ts';
import { memFile, writePieces, type MemFile } from './memfd.ts';
import { ListingScanner, parseListing, type Listing } from './listing.ts';

export class NftApplyError extends Error {
  readonly code = 'NFT_APPLY' as const;
  constructor(message: string, readonly exitCode: number | undefined, readonly stderr: string) {
    super(message);
  }
}

export type NftResult = { ok: true } | { ok: false; error: NftApplyError };

export interface NftRunnerOptions {
  /** nft is killed after this long (a hung nft must not stall the agent); default 30 s. */
  readonly timeoutMs?: number;
}

export class NftRunner {
  private readonly timeoutMs: number;

  constructor(private readonly workDir: string, private readonly nftBin = 'nft', opts: NftRunnerOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Applies the document atomically: nft commits all of it or none of it. */
  apply(doc: NftDocument | string, check = false): Promise<NftResult> {
    const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
    return this.applyJson(() => [text], check);
  }

  /**
   * Applies the JSON document whose text is the concatenation of the pieces `pieces()` yields
   * (fullDocumentJson), written to nft's input a chunk at a time so the whole text is never held
   * in memory. `pieces` may be called twice (the memfd, then the fallback file).
   */
  async applyJson(pieces: () => Iterable<string>, check = false): Promise<NftResult> {
    const input = await this.inputFile(pieces, check);
    if (input instanceof Error) return { ok: false, error: new NftApplyError(input.message, undefined, '') };
    try {
      const args = check ? ['-c', '-j', '-f', input.path] : ['-j', '-f', input.path];
      const r = await this.run(args);
      if (r.exitCode === 0) return { ok: true };
      const stderr = String(r.stderr ?? '').trim();
      const why = r.timedOut ? `timed out after ${this.timeoutMs} ms (killed)` : `exit ${r.exitCode ?? 'none'}`;
      return { ok: false, error: new NftApplyError(`nft ${args.join(' ')} failed (${why}): ${stderr || r.shortMessage}`, r.exitCode, stderr) };
    } finally {
      input.close();
    }
  }

  /**
   * The table as nft lists it (JSON) with each rule reduced to its chain (listing.ts: what the
   * structural read-back counts), or null when it does not exist (or nft cannot say). nft's
   * output is scanned as it arrives, never held whole; output laid out otherwise is listed again
   * and parsed whole.
   */
  async listTable(): Promise<unknown | null> {
    const args = ['-j', 'list', 'table', 'inet', TABLE];
    const scanned = await this.scanListing(args);
    if (scanned !== undefined) return scanned;
    const r = await this.run(args);
    if (r.exitCode !== 0) return null;
    return parseListing(String(r.stdout));
  }

  /** The reduced listing; null when nft fails; undefined when the scan gave up (or could not run). */
  private async scanListing(args: string[]): Promise<Listing | null | undefined> {
    let proc;
    try {
      proc = Bun.spawn([this.nftBin, ...args], { stdin: 'ignore', stdout: 'pipe', stderr: 'ignore', cwd: '/' });
    } catch {
      return undefined;
    }
    const timer = setTimeout(() => proc.kill('SIGKILL'), this.timeoutMs);
    try {
      const scanner = new ListingScanner();
      const decoder = new TextDecoder();
      let sinceGc = 0;
      for await (const chunk of proc.stdout) {
        scanner.push(decoder.decode(chunk, { stream: true }));
        // Each chunk leaves its bytes and strings behind: a young-generation collection per 256 KiB
        // keeps an 11 MiB listing from piling up as garbage (as writePieces does for the input).
        if ((sinceGc += chunk.length) >= 1 << 18) {
          sinceGc = 0;
          Bun.gc(false);
        }
      }
      scanner.push(decoder.decode());
      if ((await proc.exited) !== 0) return null;
      return scanner.end();
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One set of our table as nft lists it (JSON), or null (absent, or nft cannot say). Cheap: nft fetches only that set. */
  async listSet(name: string): Promise<unknown | null> {
    const r = await this.run(['-j', 'list', 'set', 'inet', TABLE, name]);
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

  private run(args: string[]) {
    return execa(this.nftBin, args, { reject: false, timeout: this.timeoutMs, forceKillAfterDelay: 2_000, stdin: 'ignore', cwd: '/' });
  }

  private async inputFile(pieces: () => Iterable<string>, check: boolean): Promise<MemFile | Error> {
    const m = await memFile(pieces);
    if (!(m instanceof Error)) return m;
    const file = join(this.workDir, check ? 'ruleset.check.json' : 'ruleset.next.json');
    const tmp = `${file}.tmp`;
    try {
      await mkdir(this.workDir, { recursive: true, mode: 0o700 });
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writePieces(fd, pieces());
      } finally {
        closeSync(fd);
      }
      await chmod(tmp, 0o600);
      await rename(tmp, file);
    } catch (e) {
      return new Error(`cannot write the nft work file ${tmp}: ${(e as Error).message}`);
    }
    return { path: file, close: () => undefined };
  }
}
