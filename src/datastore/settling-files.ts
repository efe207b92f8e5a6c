/**
 * Files that changed and are not loaded yet, until they settle (`quietMs` with the same size,
 * times and inode).
 *
 * Apart from the folder reader (file-source.ts) because it is a small state machine of its own:
 * a file's signature must hold still for `quietMs` by the source's clock before it is read, a new
 * signature starts the wait over, and a file that never settles (a log-like writer, a broken
 * sync tool) is reported once per streak rather than on every poll or never.
 */

/** A file that keeps changing this long is reported (once per streak). */
const CHANGING_REPORT_MS = 10_000;

/** A changed file not loaded yet: its signature and since when (monotonic ms) it has had it. */
interface Candidate {
  signature: string;
  since: number;
  /** Since when the file has been changing without settling, and whether that was reported. */
  changingSince: number;
  warned: boolean;
}

export class SettlingFiles {
  private readonly candidates = new Map<string, Candidate>();

  constructor(private readonly quietMs: number) {}

  /** True when the file is waiting to settle. */
  has(file: string): boolean {
    return this.candidates.has(file);
  }

  /** True when the file has had `signature` for at least `quietMs` (by our clock). */
  settled(file: string, signature: string, now: number): boolean {
    const cand = this.candidates.get(file);
    return cand !== undefined && cand.signature === signature && now - cand.since >= this.quietMs;
  }

  /**
   * The file is seen with `signature`, not settled: a new signature starts its wait over. The
   * report to make, once per streak, when it has kept changing for long.
   */
  changing(file: string, signature: string, now: number): string | undefined {
    const cand = this.candidates.get(file);
    if (!cand || cand.signature !== signature) this.candidates.set(file, { signature, since: now, changingSince: cand?.changingSince ?? now, warned: cand?.warned ?? false });
    const c = this.candidates.get(file)!;
    if (c.warned || now - c.changingSince < CHANGING_REPORT_MS) return undefined;
    c.warned = true;
    return `has kept changing for ${Math.round((now - c.changingSince) / 1000)} s; it is loaded once it stays unchanged for ${this.quietMs} ms (write a temporary file and rename it over this one)`;
  }

  /** The file was loaded, refused or is gone: its wait (and streak) ends. */
  forget(file: string): void {
    this.candidates.delete(file);
  }

  /** Forgets every file not in `seen` (no longer listed). */
  keepOnly(seen: ReadonlySet<string>): void {
    for (const f of [...this.candidates.keys()]) if (!seen.has(f)) this.candidates.delete(f);
  }
}
