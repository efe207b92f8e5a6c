/**
 * Applies rendered rulesets to the kernel, one at a time, newest wins.
 *
 * - Same bytes as the ruleset in force: nothing to do.
 * - nft rejects the transaction: the kernel keeps the previous ruleset (nft is atomic); the
 *   error is logged and the newest desired ruleset is retried with capped exponential backoff.
 * - After every apply the table is read back and checked; a mismatch counts as a failure.
 */
import type { NftRunner } from '../nft/runner.ts';
import { verifyListing } from '../nft/verify.ts';
import type { RenderResult } from '../render/ruleset.ts';
import type { Logger } from '../platform/logger.ts';

export type ApplyOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string };

export class Enforcer {
  private desired: { bytes: string; result: RenderResult } | undefined;
  private appliedBytes: string | undefined;
  private running: Promise<void> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private stopped = false;
  private readonly listeners: ((r: ApplyOutcome) => void)[] = [];

  constructor(
    private readonly runner: NftRunner,
    private readonly log: Logger,
    private readonly backoff = { initialMs: 500, maxMs: 30_000 },
  ) {}

  /** Called after every attempt, including retries, so status can follow recovery. */
  onOutcome(cb: (r: ApplyOutcome) => void): void {
    this.listeners.push(cb);
  }

  /** Sets the desired ruleset and applies it; resolves when this attempt finished (ok or not). */
  async enforce(result: RenderResult): Promise<boolean> {
    this.desired = { bytes: JSON.stringify(result.document), result };
    while (this.running) await this.running;
    if (this.appliedBytes === this.desired.bytes) return true;
    this.running = this.attempt();
    await this.running;
    this.running = undefined;
    return this.appliedBytes === this.desired.bytes;
  }

  private async attempt(): Promise<void> {
    const want = this.desired;
    if (!want || this.stopped) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const r = await this.runner.apply(want.bytes);
    let problem: string | undefined = r.ok ? undefined : r.error.message;
    if (r.ok) {
      const problems = verifyListing(await this.runner.listTable(), want.result);
      if (problems.length) problem = `read-back verification failed: ${problems.slice(0, 5).join('; ')}`;
    }
    if (!problem) {
      this.appliedBytes = want.bytes;
      if (this.failures) this.log.info({ after: this.failures }, 'ruleset applied after earlier failures');
      this.failures = 0;
      this.listeners.forEach((cb) => cb({ ok: true }));
      return;
    }
    this.failures++;
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (this.failures - 1));
    this.log.error({ err: problem, failures: this.failures, retryInMs: delay }, 'applying ruleset failed; previous ruleset stays in force');
    this.listeners.forEach((cb) => cb({ ok: false, error: problem }));
    this.retryTimer = setTimeout(() => {
      if (this.desired) void this.enforce(this.desired.result);
    }, delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}
