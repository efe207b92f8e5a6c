/**
 * The agent's Prometheus metrics, kept up to date as an AgentObserver (src/agent/observations.ts):
 * the agent tells, this counts; nothing here is polled except what is computed at scrape time
 * (seconds since the last sync, and the per-policy counters read from nft when enabled).
 */
import type { AgentObserver, ApplyEvent } from '../agent/observations.ts';
import { STATUS_STATES, type StatusState } from '../protocol/status.ts';
import type { PromClient, Registry } from './prom.ts';

/** One policy's packet counter in one direction, as nft counts it. */
export interface PolicyPackets {
  readonly policy: string;
  readonly direction: string;
  readonly packets: number;
}

export interface AgentMetricsOptions {
  /** Per-policy hit counters (setting metricsPolicyCounters): read at every scrape. */
  readonly policyPackets?: () => Promise<readonly PolicyPackets[]>;
  /** ms since the epoch; tests pass their own clock. */
  readonly now?: () => number;
}

export interface Readiness {
  readonly ok: boolean;
  readonly reason?: string;
}

export interface AgentMetrics {
  readonly registry: Registry;
  readonly observer: AgentObserver;
  /** Ready once a ruleset is in force, and while the agent is not in the error state. */
  ready(): Readiness;
}

/** Apply durations run from a few ms (a small delta) to tens of seconds (a 100k-member first apply on a slow board). */
const APPLY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createAgentMetrics(prom: PromClient, opts: AgentMetricsOptions = {}): AgentMetrics {
  const now = opts.now ?? Date.now;
  const registry = new prom.Registry();
  const registers = [registry];
  const applies = new prom.Counter({ name: 'outpost_agent_applies_total', help: 'Rulesets applied (result ok) or that failed to apply (result failed), drift repairs and retries included.', labelNames: ['result'], registers });
  const duration = new prom.Histogram({ name: 'outpost_agent_apply_duration_seconds', help: 'Time to render a ruleset and run its nft transaction.', buckets: APPLY_BUCKETS, registers });
  const refusals = new prom.Counter({ name: 'outpost_agent_refusals_total', help: 'Snapshots or bundles refused (the state in force is kept), by reason.', labelNames: ['reason'], registers });
  // Unknown until it happens: no sample at all, rather than a 0 that reads as revision 0 or 1970.
  let revision: number | undefined;
  let lastApplyMs: number | undefined;
  let lastSyncMs: number | undefined;
  optionalGauge(prom, registry, 'outpost_agent_revision', 'Datastore revision of the snapshot in force (relay mode; absent in local mode).', () => revision);
  optionalGauge(prom, registry, 'outpost_agent_last_apply_timestamp_seconds', 'When the last successful apply finished (Unix time).', () => lastApplyMs === undefined ? undefined : lastApplyMs / 1000);
  optionalGauge(prom, registry, 'outpost_agent_seconds_since_last_sync', 'Seconds since the agent last heard that its policy is current: a snapshot or confirmation from the relay, a bundle, or (local mode) an apply of its files.', () => lastSyncMs === undefined ? undefined : Math.max(0, (now() - lastSyncMs) / 1000));
  const state = new prom.Gauge({ name: 'outpost_agent_state', help: 'The agent\'s state: 1 for the current one, 0 for the others.', labelNames: ['state'], registers });
  const heldBack = new prom.Gauge({ name: 'outpost_agent_held_back_resources', help: 'Resources held back as invalid, by the relay (its list) or in local mode by this agent: the last valid version of each stays in force; one that was never valid is not enforced at all.', registers });
  if (opts.policyPackets) {
    const read = opts.policyPackets;
    new prom.Counter({
      name: 'outpost_agent_policy_packets_total',
      help: 'Packets that matched a policy\'s rules, per direction, as counted by nft (restarts from 0 when the table is re-created).',
      labelNames: ['policy', 'direction'],
      registers,
      async collect() {
        // The table is the source of truth: what it no longer has is dropped, not kept at its last value.
        const counts = await read();
        this.reset();
        for (const c of counts) this.inc({ policy: c.policy, direction: c.direction }, c.packets);
      },
    });
  }
  // Both results and every state exist from the start, so a query sees 0 rather than no series.
  applies.inc({ result: 'ok' }, 0);
  applies.inc({ result: 'failed' }, 0);
  let current: StatusState | undefined;
  let applied = false;
  let errorReason: string | undefined;
  const setState = (s: StatusState) => {
    current = s;
    for (const name of STATUS_STATES) state.set({ state: name }, name === s ? 1 : 0);
  };

  const observer: AgentObserver = {
    applied(e: ApplyEvent) {
      applies.inc({ result: e.ok ? 'ok' : 'failed' });
      duration.observe(Math.max(0, e.durationMs) / 1000);
      if (!e.ok) return;
      applied = true;
      lastApplyMs = e.at.getTime();
      revision = numericRevision(e.revision) ?? revision;
      if (e.source === 'local') lastSyncMs = e.at.getTime();
    },
    refused(e) {
      refusals.inc({ reason: e.reason });
    },
    stateChanged(e) {
      setState(e.state);
      errorReason = e.state === 'error' ? (e.reason ?? 'the agent is in the error state') : undefined;
    },
    snapshotReceived(e) {
      lastSyncMs = e.at.getTime();
    },
    synced(e) {
      lastSyncMs = e.at.getTime();
    },
    heldBackChanged(e) {
      heldBack.set(e.heldBack?.count ?? 0);
    },
  };
  heldBack.set(0);

  return {
    registry,
    observer,
    ready() {
      if (current === 'error') return { ok: false, reason: `error: ${errorReason}` };
      if (!applied) return { ok: false, reason: 'no ruleset applied yet' };
      return { ok: true };
    },
  };
}

/** A gauge with no sample while `value()` is undefined, computed at each scrape. */
export function optionalGauge(prom: PromClient, registry: Registry, name: string, help: string, value: () => number | undefined): void {
  new prom.Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const v = value();
      // remove(), not reset(): reset() puts back a 0 sample for a gauge without labels.
      if (v === undefined) this.remove();
      else this.set(v);
    },
  });
}

/**
 * A revision as a number for the gauge: etcd's revision, or the folder datastore's (file times
 * in microseconds, 16 digits). One a float64 cannot hold exactly is not exported.
 */
export function numericRevision(revision: string | undefined): number | undefined {
  if (revision === undefined || !/^\d{1,16}$/.test(revision)) return undefined;
  const n = Number(revision);
  return Number.isSafeInteger(n) ? n : undefined;
}
