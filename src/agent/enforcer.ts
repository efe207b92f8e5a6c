/**
 * Applies rendered rulesets to the kernel, one at a time, newest wins.
 *
 * - The table writer (nft/table-writer.ts) turns the desired table into the smallest atomic
 *   transaction from the one in force: set element add/delete, flush + re-add of changed chains.
 *   Nothing changed: nothing to do. A full re-create at start-up and whenever what is in force
 *   is not known (a failed apply, drift, a failed proof or audit).
 * - nft rejects the transaction: the kernel keeps the previous ruleset (nft is atomic). A failed
 *   delta is followed at once by a full re-create; a failed re-create is logged and retried with
 *   capped exponential backoff.
 * - Proof after every commit: the stamp (nft/stamp.ts) written in the same transaction is read
 *   back with a listing of that one small set; a different or missing stamp counts as a failure.
 * - Audit: the full structural read-back (nft/verify.ts: chains, rule counts, sets and their
 *   sizes, the stamp) runs a few seconds after the last change once nothing is pending (at most
 *   once a minute: a listing costs about what a full apply does), then every ten minutes, and
 *   when drift-watch asks; a problem forgets what is in force and re-creates the table.
 */
import type { NftRunner } from '../nft/runner.ts';
import { verifyListing } from '../nft/verify.ts';
import { TableWriter, type Write } from '../nft/table-writer.ts';
import { STAMP_SET, stampInMonitorLine, stampOf } from '../nft/stamp.ts';
import type { DesiredTable } from '../render/table-model.ts';
import type { RenderResult } from '../render/ruleset.ts';
import type { Logger } from '../platform/logger.ts';
import { backoffStep } from '../platform/backoff.ts';

/** `ms`: the attempt's nft transactions and proof (observers report it as the apply duration). */
export type ApplyOutcome = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly error: string; readonly ms: number };

export interface EnforcerOptions {
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Quiet time after the last change before the structural audit (default 3 s). */
  readonly auditAfterMs?: number;
  /** Audit again this often while nothing changes (default 10 min; 0: never). */
  readonly auditEveryMs?: number;
  /** At most one audit per this long after changes (default 60 s): a listing costs as much as a full apply. */
  readonly auditGapMs?: number;
  /** Passed to the table writer (share of a full re-create above which it re-creates). */
  readonly fullAbove?: number;
}

const RECENT_STAMPS = 16;

export class Enforcer {
  private desired: RenderResult | undefined;
  private inForce: DesiredTable | undefined;
  private running: Promise<void> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private auditTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private stopped = false;
  private readonly writer: TableWriter;
  private readonly listeners: ((r: ApplyOutcome) => void)[] = [];
  private readonly recent: string[] = [];
  private readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  private readonly auditAfterMs: number;
  private readonly auditEveryMs: number;
  private readonly auditGapMs: number;
  private lastAuditAt = Number.NEGATIVE_INFINITY;
  /** What the last transactions were, for tests and benchmarks. */
  readonly writes: { kind: 'full' | 'delta'; ok: boolean }[] = [];

  constructor(
    private readonly runner: NftRunner,
    private readonly log: Logger,
    opts: EnforcerOptions = {},
  ) {
    this.backoff = opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
    this.auditAfterMs = opts.auditAfterMs ?? 3_000;
    this.auditEveryMs = opts.auditEveryMs ?? 600_000;
    this.auditGapMs = opts.auditGapMs ?? 60_000;
    this.writer = new TableWriter(opts.fullAbove === undefined ? {} : { fullAbove: opts.fullAbove });
  }

  /** Called after every attempt, including retries, so status can follow recovery. */
  onOutcome(cb: (r: ApplyOutcome) => void): void {
    this.listeners.push(cb);
  }

  /** Sets the desired ruleset and applies it; resolves once it is committed and proven (or failed). */
  async enforce(result: RenderResult, full = false): Promise<boolean> {
    this.desired = result;
    while (this.running) await this.running;
    if (this.inForce === result.table && !full) return true;
    const running = this.attempt(full).finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    await running;
    return this.inForce === this.desired?.table;
  }

  private async attempt(full: boolean): Promise<void> {
    const want = this.desired;
    if (!want || this.stopped) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const t0 = performance.now();
    const w = this.writer.prepare(want.table, full);
    if (!w) {
      this.inForce = want.table;
      return;
    }
    let problem = await this.write(w);
    if (problem && w.kind === 'delta') {
      // Counted (the recovery is logged as one), but retried at once as a re-create, not after a backoff.
      this.failures++;
      this.log.warn({ err: problem }, 'incremental ruleset update failed; re-creating the table');
      const again = this.writer.prepare(want.table, true);
      problem = again ? await this.write(again) : undefined;
    }
    if (problem) return this.failed(problem, performance.now() - t0);
    this.inForce = want.table;
    if (this.failures) this.log.info({ after: this.failures }, 'ruleset applied after earlier failures');
    this.failures = 0;
    const ms = performance.now() - t0;
    this.listeners.forEach((cb) => cb({ ok: true, ms }));
    if (this.auditAfterMs > 0) this.scheduleAudit(Math.max(this.auditAfterMs, this.lastAuditAt + this.auditGapMs - Date.now()));
  }

  /** One transaction and its proof; a problem, or undefined when committed and proven. */
  private async write(w: Write): Promise<string | undefined> {
    const recent = this.recent;
    // The stamp is known once the pieces are written (a full write computes it last), and it is
    // remembered before nft runs: drift-watch may read the commit's monitor lines before nft exits.
    function* pieces() {
      yield* w.json();
      if (!recent.includes(w.stamp)) recent.push(w.stamp);
      if (recent.length > RECENT_STAMPS) recent.shift();
    }
    // A full re-create writes the whole table (11 MiB of JSON at 25,000 rules): collect what the
    // render left behind first, so the serialiser reuses that memory instead of growing the peak.
    // Rare (start-up, recovery) and small next to the nft run that follows.
    if (w.kind === 'full') Bun.gc(true);
    const r = await this.runner.applyJson(pieces);
    this.writes.push({ kind: w.kind, ok: r.ok });
    if (this.writes.length > 100) this.writes.shift();
    if (!r.ok) {
      this.writer.forget();
      return r.error.message;
    }
    this.writer.committed(w);
    const stamp = stampOf(await this.runner.listSet(STAMP_SET));
    if (stamp !== w.stamp) {
      this.writer.forget();
      return `read-back verification failed: the stamp is ${stamp ?? 'missing'} right after committing ${w.stamp}`;
    }
    return undefined;
  }

  private failed(problem: string, ms: number): void {
    this.inForce = undefined;
    this.failures++;
    const delay = backoffStep(this.failures - 1, this.backoff);
    this.log.error({ err: problem, failures: this.failures, retryInMs: delay }, 'applying ruleset failed; previous ruleset stays in force');
    this.listeners.forEach((cb) => cb({ ok: false, error: problem, ms }));
    this.retryTimer = setTimeout(() => {
      if (this.desired) void this.enforce(this.desired, true);
    }, delay);
  }

  private scheduleAudit(ms: number): void {
    if (this.stopped || ms <= 0) return;
    if (this.auditTimer) clearTimeout(this.auditTimer);
    this.auditTimer = setTimeout(() => {
      this.auditTimer = undefined;
      void this.audit();
    }, ms);
    this.auditTimer.unref?.();
  }

  /**
   * The full structural check of the table in force against the desired one. Repairs (full
   * re-create) on any problem; resolves with the problems found. Skipped while an apply is in
   * flight or nothing is in force (the apply's own outcome decides then).
   */
  async audit(): Promise<string[]> {
    await this.settled();
    const want = this.desired;
    if (this.stopped || !want || this.inForce !== want.table) return [];
    const expectedStamp = this.writer.stamp;
    this.lastAuditAt = Date.now();
    const listing = await this.runner.listTable();
    // A change arrived while the table was listed: its own proof covers it, audit later.
    if (this.running || this.inForce !== want.table) return (this.scheduleAudit(this.auditAfterMs), []);
    const problems = verifyListing(listing, want, [STAMP_SET]);
    const stamp = stampOf(listing);
    if (listing !== null && stamp !== expectedStamp) problems.push(`stamp is ${stamp ?? 'missing'}, expected ${expectedStamp}`);
    this.scheduleAudit(this.auditEveryMs);
    if (!problems.length) return [];
    this.log.warn({ problems: problems.slice(0, 5) }, 'audit: the table in force differs from the desired one; re-creating it');
    await this.reapply();
    return problems;
  }

  /** True for the `nft monitor` line of one of our recent transactions (drift-watch.ts). */
  isOwnMonitorLine(line: string): boolean {
    const stamp = stampInMonitorLine(line);
    return stamp !== undefined && this.recent.includes(stamp);
  }

  /** Drift repair (drift-watch.ts): the kernel lost what was applied; re-create the table. */
  async reapply(): Promise<boolean> {
    await this.settled();
    if (!this.desired) return false;
    this.writer.forget();
    this.inForce = undefined;
    return this.enforce(this.desired, true);
  }

  /** True when the desired ruleset is committed and proven. */
  get upToDate(): boolean {
    return this.desired !== undefined && this.inForce === this.desired.table;
  }

  /** Waits for the apply in flight (so `--once` exits only after its proof). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.auditTimer) clearTimeout(this.auditTimer);
  }
}
