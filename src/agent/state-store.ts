/**
 * The agent's writes to its state dir (the verified snapshot, the broker's addresses), made
 * loud and persistent: a write that fails (full disk, read-only mount, a cache that cannot be
 * opened) is logged as an error, reported through `onProblem` (status `error`), and retried
 * with capped exponential backoff until it succeeds, e.g. once space returns. The newest write
 * per key wins; nothing is ever dropped silently.
 */
import { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { Logger } from '../platform/logger.ts';
import { backoffStep } from '../platform/backoff.ts';

export class StateStore {
  private cache: SnapshotCache | undefined;
  private copy: SnapshotCache | undefined;
  private readonly pending = new Map<string, (c: SnapshotCache) => void>();
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
    /** A problem message while writes fail, undefined once they succeed again. */
    private readonly onProblem: (problem: string | undefined) => void,
    private readonly backoff = { initialMs: 500, maxMs: 30_000 },
  ) {}

  /** Opens the cache; when it cannot be opened for writing, a read-only copy still serves reads. */
  openForBoot(): void {
    const problem = this.tryOpen();
    if (problem === undefined) return;
    this.copy = SnapshotCache.openCopy(this.dir, { log: (m) => this.log.error(m) });
    if (this.copy) this.log.warn({ state: this.dir }, 'state dir not writable: reading a copy of the cache; writes are retried');
    this.failed(problem);
  }

  /** The cache to read from (the writable one, or the boot copy), if any. */
  get reader(): SnapshotCache | undefined {
    return this.cache ?? this.copy;
  }

  /** Queues a write under `key` (replacing an older pending one) and tries it now. */
  write(key: string, op: (c: SnapshotCache) => void): void {
    this.pending.set(key, op);
    this.flush();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.cache?.close();
    this.copy?.close();
  }

  private tryOpen(): string | undefined {
    if (this.cache) return undefined;
    try {
      this.cache = SnapshotCache.open(this.dir, { log: (m) => this.log.error(m) });
      this.copy?.close();
      this.copy = undefined;
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }

  private flush(): void {
    if (this.stopped) return;
    const openProblem = this.tryOpen();
    if (openProblem !== undefined) return this.failed(openProblem);
    for (const [key, op] of [...this.pending]) {
      try {
        op(this.cache!);
        if (this.pending.get(key) === op) this.pending.delete(key);
      } catch (e) {
        return this.failed((e as Error).message);
      }
    }
    if (this.failures) {
      this.log.info({ after: this.failures, state: this.dir }, 'state saved after earlier failures');
      this.failures = 0;
      this.onProblem(undefined);
    }
  }

  private failed(problem: string): void {
    this.failures++;
    const delay = this.schedule();
    this.log.error({ err: problem, failures: this.failures, retryInMs: delay, state: this.dir }, 'cannot write the state dir; retrying (the ruleset in force is not affected)');
    this.onProblem(`state dir: ${problem}`);
  }

  private schedule(): number {
    const delay = backoffStep(this.failures - 1, this.backoff);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.pending.size || !this.cache) this.flush();
    }, delay);
    return delay;
  }
}
