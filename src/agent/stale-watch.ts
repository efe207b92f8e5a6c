/**
 * Relay mode's watch on the age of the snapshot in force (the rules are in freshness.ts).
 *
 * Once the held snapshot is older than maxSnapshotAge the relay has gone quiet: the snapshot
 * stays in force (or the operator's degraded policy replaces it, degraded-policy.ts) and the
 * state says 'stale' until a fresh one, or a re-signature, arrives. This file owns that spell:
 * the flag, the counter the status carries, the degraded plan and the timer that wakes when the
 * snapshot would turn stale. relay-mode.ts keeps the state machine and is told through hooks,
 * so which state a stale spell shows stays decided in one place.
 */
import type { Logger } from '../platform/logger.ts';
import type { Snapshot } from '../protocol/snapshot.ts';
import { describeAge, freshness, msUntilStale } from './freshness.ts';
import { loadDegradedPlan } from './degraded-policy.ts';

export interface StaleWatchOptions {
  readonly node: string;
  readonly log: Logger;
  readonly maxAgeMs: number;
  /** The operator's degraded policy (files or folders of manifests); undefined: none. */
  readonly degradedPolicy: readonly string[] | undefined;
  /** The snapshot in force, read on every check (it changes under the watch). */
  readonly held: () => Snapshot | undefined;
  /** Just turned stale (after the warning, before any degraded policy is read). */
  readonly onStale: () => void;
  /** Fresh again (after a degraded policy was lifted and the snapshot's re-apply started). */
  readonly onFresh: () => void;
  /** Puts the plan in force again: the degraded one while it is set, else the snapshot's. */
  readonly apply: (why: 'fresh' | 'degraded') => Promise<boolean>;
  readonly publishStatus: () => void;
}

export class StaleWatch {
  /** True from the moment the held snapshot is over the maximum age until a fresh one is held. */
  stale = false;
  /** How many stale spells this agent has been through (the status carries it). */
  count = 0;
  /** While stale, with degradedPolicy set: the plan computed from it, enforced instead of the snapshot's. */
  degraded: Snapshot['plan'] | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly o: StaleWatchOptions) {}

  /** Compares the held snapshot's issue time with the clock; switches stale on or off and re-arms the timer. */
  check(): void {
    const { o } = this;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const held = o.held();
    if (!held) return;
    const now = Date.now();
    const isStale = freshness(now, held.issuedAt, o.maxAgeMs) === 'stale';
    if (isStale && !this.stale) {
      this.stale = true;
      this.count++;
      const issued = held.issuedAt === undefined ? 'at an unknown time' : `${describeAge(now - held.issuedAt)} ago`;
      const instead = o.degradedPolicy ? 'the degraded policy replaces it' : 'it stays in force';
      o.log.warn({ node: o.node, revision: held.revision, issuedAt: held.issuedAt === undefined ? undefined : new Date(held.issuedAt).toISOString(), staleCount: this.count }, `snapshot stale: issued ${issued}, over the maximum age of ${describeAge(o.maxAgeMs)}; ${instead} until a fresh one arrives (is the relay running and re-signing?)`);
      o.onStale();
      if (o.degradedPolicy) void this.enterDegraded(o.degradedPolicy).catch((e: Error) => o.log.error({ err: e.message }, 'degraded policy failed'));
    } else if (!isStale && this.stale) {
      this.stale = false;
      o.log.info({ node: o.node, revision: held.revision }, 'snapshot fresh again');
      if (this.degraded) {
        this.degraded = undefined;
        o.log.info({ node: o.node, revision: held.revision }, 'degraded policy lifted; the relay\'s snapshot is enforced again');
        void o.apply('fresh');
      }
      o.onFresh();
    }
    const wait = msUntilStale(now, held.issuedAt, o.maxAgeMs);
    // setTimeout holds 32 bits of milliseconds: a later deadline is checked again in 24 days.
    if (!this.stale && wait !== undefined && !this.stopped) {
      this.timer = setTimeout(() => this.check(), Math.min(wait, 2_000_000_000));
      this.timer.unref?.();
    }
  }

  /** No more checks, and a degraded policy still being read is not put in force. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Computes the operator's degraded policy and enforces it while still stale; unreadable: the stale snapshot stays. */
  private async enterDegraded(paths: readonly string[]): Promise<void> {
    const { o } = this;
    const r = await loadDegradedPlan(paths, o.node);
    if (!this.stale || this.stopped) return;
    if (r instanceof Error) {
      o.log.error({ node: o.node, err: r.message }, 'cannot read the degraded policy; the stale snapshot stays in force');
      return;
    }
    r.problems.forEach((p) => o.log.warn({ node: o.node }, `degraded policy: ${p}`));
    this.degraded = r.plan;
    o.log.warn({ node: o.node, paths, endpoints: r.plan.endpoints.length, policies: r.plan.policies.length }, 'degraded policy in force while the snapshot is stale');
    await o.apply('degraded');
    o.publishStatus();
  }
}
