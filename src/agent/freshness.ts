/**
 * Freshness of signed snapshots: pure rules, the clock passed in.
 *
 * A snapshot's signature says the relay wrote it, not when it was delivered: a retained message
 * can be replayed long after the relay replaced it. So every snapshot carries the time the relay
 * signed it (`issuedAt`), the relay re-signs each node's current snapshot periodically even when
 * nothing changed, and the agent judges:
 *
 * - first snapshot: an agent holding nothing refuses one issued longer ago than `maxAgeMs`
 *   ('expired'); it has no revision to compare with, so age is all that stops a replayed old plan.
 *   An agent that holds a snapshot has the revision rule instead (never backwards).
 * - stale: once the held snapshot is older than `maxAgeMs`, the relay has gone quiet (or the agent
 *   is cut off from it). The agent keeps enforcing it — dropping a firewall ruleset because a
 *   clock ran is worse than an old one — and says so (status 'stale', log, counter).
 * - refresh: the same revision and hash with a newer issuedAt is the relay's re-signature: the
 *   held issue time moves forward, nft is not touched.
 *
 * Review notes:
 * - No issue time (a snapshot signed before issue times existed) counts as infinitely old.
 * - An issue time in the future (the relay's clock ahead, or this host's clock behind, e.g. an
 *   appliance without RTC booting in 1970) counts as fresh: refusing would leave a booting
 *   appliance without policy because of a clock, and only the relay can sign.
 * - `maxAgeMs` 0 switches both rules off.
 * - Callers with an operator's explicit action (a bundle imported by hand) skip the
 *   first-snapshot rule by not calling it; nothing here knows about transports.
 */

export type Freshness = 'fresh' | 'stale';

/** 'stale' when the snapshot issued at `issuedAt` is older than `maxAgeMs` at `now`; never with maxAgeMs 0. */
export function freshness(now: number, issuedAt: number | undefined, maxAgeMs: number): Freshness {
  if (maxAgeMs <= 0) return 'fresh';
  if (issuedAt === undefined) return 'stale';
  return now - issuedAt > maxAgeMs ? 'stale' : 'fresh';
}

/**
 * May an agent that holds no snapshot accept one issued at `issuedAt`? Undefined when it may,
 * else the refusal message (reason 'expired').
 */
export function firstSnapshotProblem(now: number, issuedAt: number | undefined, maxAgeMs: number): string | undefined {
  if (freshness(now, issuedAt, maxAgeMs) === 'fresh') return undefined;
  if (issuedAt === undefined) return 'the snapshot carries no issue time and this agent holds no state: it may be a replay of any age';
  return `issued ${new Date(issuedAt).toISOString()}, ${describeAge(now - issuedAt)} ago, over the maximum age of ${describeAge(maxAgeMs)} for an agent with no state (a replayed old snapshot, or this host's clock is wrong)`;
}

/** True when `incoming` is the relay's re-signature of what is held: same revision and hash, newer issue time. */
export function isRefresh(
  held: { readonly revision: string; readonly hash: string; readonly issuedAt: number | undefined },
  incoming: { readonly revision: string; readonly hash: string; readonly issuedAt: number | undefined },
): boolean {
  if (held.revision !== incoming.revision || held.hash !== incoming.hash || incoming.issuedAt === undefined) return false;
  return held.issuedAt === undefined || incoming.issuedAt > held.issuedAt;
}

/** Milliseconds from `now` until the held snapshot turns stale; undefined when it never will (maxAgeMs 0). */
export function msUntilStale(now: number, issuedAt: number | undefined, maxAgeMs: number): number | undefined {
  if (maxAgeMs <= 0) return undefined;
  if (issuedAt === undefined) return 0;
  return Math.max(0, issuedAt + maxAgeMs - now + 1);
}

/** "2 s", "15 min", "24 h": for log lines. */
export function describeAge(ms: number): string {
  if (ms < 0) return `${ms} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
  if (ms < 600_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 36_000_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}
