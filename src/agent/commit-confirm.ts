/**
 * Commit confirmed: a new revision from the relay stays only if it does not cut this host off.
 *
 * Before the apply the agent records which probes pass (probes.ts: the broker link always, plus
 * the configured TCP/ICMP ones). For the confirm window after it, the probes that passed are
 * checked again every interval; when one of them fails twice in a row (one lost packet is not a
 * verdict), the window closes with a break and the caller restores what was in force before.
 * A probe that already failed before the apply is never watched: the new ruleset did not break
 * it, and rolling back would not fix it.
 *
 * A revision applied while a window is open inherits that window's baseline and restore target:
 * the ruleset to go back to is the last one that was confirmed (or in force before any window),
 * never a revision still on probation.
 *
 * The clock is injected so the state machine is tested without waiting; no I/O here besides the
 * probes the caller passes in.
 */
import type { Probe } from './probes.ts';

export type ProbeResults = Readonly<Record<string, boolean>>;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** The probes that passed before and fail now (pure). */
export function brokenProbes(before: ProbeResults, now: ProbeResults): string[] {
  return Object.keys(before).filter((name) => before[name] === true && now[name] === false);
}

/** Runs every probe at once; a probe that throws counts as failing. */
async function runProbes(probes: readonly Probe[]): Promise<ProbeResults> {
  const results = await Promise.all(probes.map((p) => p.check().catch(() => false)));
  return Object.fromEntries(probes.map((p, i) => [p.name, results[i] === true]));
}

export interface Prepared<T> {
  readonly baseline: ProbeResults;
  /** What to put back if the apply breaks a probe; undefined when nothing was in force. */
  readonly restoreTo: T | undefined;
}

export interface Break<T> {
  readonly revision: string;
  readonly restoreTo: T | undefined;
  readonly failed: readonly string[];
}

export interface ConfirmOptions {
  readonly windowMs: number;
  /** Time between checks (default: a quarter of the window, at most 1 s). */
  readonly intervalMs?: number;
  /** Consecutive failing checks that make a break (default 2). */
  readonly failuresToBreak?: number;
  readonly clock?: Clock;
}

interface Window<T> {
  readonly revision: string;
  readonly baseline: ProbeResults;
  readonly restoreTo: T | undefined;
  readonly deadline: number;
  strikes: Record<string, number>;
  timer?: unknown;
}

export class CommitConfirm<T> {
  private window: Window<T> | undefined;
  private generation = 0;
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly failuresToBreak: number;

  constructor(
    private readonly probes: () => readonly Probe[],
    private readonly opts: ConfirmOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.intervalMs = opts.intervalMs ?? Math.max(50, Math.min(1000, Math.floor(opts.windowMs / 4)));
    this.failuresToBreak = opts.failuresToBreak ?? 2;
  }

  get enabled(): boolean {
    return this.opts.windowMs > 0;
  }

  /** The revision on probation, if a window is open. */
  get watching(): string | undefined {
    return this.window?.revision;
  }

  /** Before an apply: which probes pass now and what to restore. An open window's carry over. */
  async prepare(current: T | undefined): Promise<Prepared<T>> {
    if (!this.enabled) return { baseline: {}, restoreTo: current };
    const open = this.window;
    if (open) return { baseline: open.baseline, restoreTo: open.restoreTo };
    return { baseline: await runProbes(this.probes()), restoreTo: current };
  }

  /**
   * After the apply succeeded: watch the probes that passed for the window. `onBreak` is called
   * at most once, `onConfirm` when the window ends without one. Replaces any open window.
   */
  start(revision: string, prepared: Prepared<T>, onBreak: (b: Break<T>) => void, onConfirm: (revision: string) => void = () => undefined): void {
    this.cancel();
    if (!this.enabled) return onConfirm(revision);
    const w: Window<T> = { revision, baseline: prepared.baseline, restoreTo: prepared.restoreTo, deadline: this.clock.now() + this.opts.windowMs, strikes: {} };
    this.window = w;
    const gen = ++this.generation;
    const watched = () => this.probes().filter((p) => prepared.baseline[p.name] === true);
    const tick = async () => {
      if (gen !== this.generation) return;
      const now = await runProbes(watched());
      if (gen !== this.generation) return;
      for (const [name, ok] of Object.entries(now)) w.strikes[name] = ok ? 0 : (w.strikes[name] ?? 0) + 1;
      const failed = Object.keys(w.strikes).filter((n) => (w.strikes[n] ?? 0) >= this.failuresToBreak);
      if (failed.length) {
        this.close();
        return onBreak({ revision, restoreTo: w.restoreTo, failed });
      }
      if (this.clock.now() >= w.deadline) {
        this.close();
        return onConfirm(revision);
      }
      w.timer = this.clock.setTimeout(() => void tick(), this.intervalMs);
    };
    w.timer = this.clock.setTimeout(() => void tick(), this.intervalMs);
  }

  /** Closes any open window without a verdict (stop, or a rollback in progress). */
  cancel(): void {
    this.close();
  }

  private close(): void {
    this.generation++;
    if (this.window?.timer !== undefined) this.clock.clearTimeout(this.window.timer);
    this.window = undefined;
  }
}
