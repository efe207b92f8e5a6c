/**
 * Applies rendered rulesets to the kernel, one at a time, newest wins.
 *
 * - Same bytes as the ruleset in force: nothing to do.
 * - nft rejects the transaction: the kernel keeps the previous ruleset (nft is atomic); the
 *   error is logged and the newest desired ruleset is retried with capped exponential backoff.
 * - After every apply the table is read back and checked (after the commit is reported); a
 *   mismatch counts as a failure.
 */
import type { NftRunner } from '../nft/runner.ts';
import { verifyListing } from '../nft/verify.ts';
import type { RenderResult } from '../render/ruleset.ts';
import type { Logger } from '../platform/logger.ts';
import { backoffStep } from '../platform/backoff.ts';

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

  /**
   * Sets the desired ruleset and applies it; resolves once nft has committed it (or failed).
   * The read-back check runs after that, off the critical path: nft's transaction is atomic,
   * so a committed ruleset is in force; the check catches a kernel that holds something other
   * than what we rendered, and then counts as a failure (logged, retried).
   */
  async enforce(result: RenderResult): Promise<boolean> {
    this.desired = { bytes: JSON.stringify(result.document), result };
    while (this.running) await this.running;
    if (this.appliedBytes === this.desired.bytes) return true;
    const { applied, done } = this.attempt();
    const running = done.finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    await applied;
    return this.appliedBytes === this.desired.bytes;
  }

  private attempt(): { applied: Promise<void>; done: Promise<void> } {
    let markApplied: () => void = () => undefined;
    const applied = new Promise<void>((r) => (markApplied = r));
    const done = (async () => {
      const want = this.desired;
      if (!want || this.stopped) return;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      const r = await this.runner.apply(want.bytes);
      if (!r.ok) return this.failed(r.error.message);
      this.appliedBytes = want.bytes;
      if (this.failures) this.log.info({ after: this.failures }, 'ruleset applied after earlier failures');
      this.failures = 0;
      this.listeners.forEach((cb) => cb({ ok: true }));
      markApplied();
      const problems = verifyListing(await this.runner.listTable(), want.result);
      if (problems.length && this.appliedBytes === want.bytes) {
        this.appliedBytes = undefined;
        this.failed(`read-back verification failed: ${problems.slice(0, 5).join('; ')}`);
      }
    })().finally(markApplied);
    return { applied, done };
  }

  private failed(problem: string): void {
    this.failures++;
    const delay = backoffStep(this.failures - 1, this.backoff);
    this.log.error({ err: problem, failures: this.failures, retryInMs: delay }, 'applying ruleset failed; previous ruleset stays in force');
    this.listeners.forEach((cb) => cb({ ok: false, error: problem }));
    this.retryTimer = setTimeout(() => {
      if (this.desired) void this.enforce(this.desired.result);
    }, delay);
  }

  /** Drift repair (drift-watch.ts): the kernel lost what was applied; apply the same bytes again. */
  async reapply(): Promise<boolean> {
    await this.settled();
    if (!this.desired) return false;
    this.appliedBytes = undefined;
    return this.enforce(this.desired.result);
  }

  /** True when the desired ruleset is committed and (once settled) read back correctly. */
  get upToDate(): boolean {
    return this.desired !== undefined && this.appliedBytes === this.desired.bytes;
  }

  /** Waits for the apply and read-back in flight (so `--once` exits only after the check). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}
