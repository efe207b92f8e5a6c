/**
 * What the agent tells its observers: every apply, refusal, state change, snapshot and
 * held-back change. The status file (status-file.ts), metrics and anything else that watches
 * the agent implement `AgentObserver`; the agent calls one fan-out of them.
 *
 * Observers are told, they never decide: a throwing observer is logged and skipped, so a
 * broken metrics endpoint or a full disk can never stop enforcement. Every method is optional.
 * Calls are synchronous and must return quickly (queue slow work, as the status file does).
 */
import type { Logger } from '../platform/logger.ts';
import type { HeldBack } from '../protocol/held-back.ts';
import type { StatusState } from '../protocol/status.ts';
import type { NodePlan } from '../plan/schema.ts';
import type { Dispatch } from '../calc/dispatch.ts';
import { callObservers } from '../platform/observers.ts';

/** Where the policy in force comes from: a relay over MQTT, a signed offline bundle, or local manifests. */
export type AgentSource = 'relay' | 'bundle' | 'local';

export interface ApplyEvent {
  /** The snapshot's revision and hash (relay/bundle); absent in local mode. */
  readonly revision?: string;
  readonly hash?: string;
  readonly source: AgentSource;
  /** What triggered it: 'cache', 'relay', 'drop', 'import', 'interfaces', 'files', 'retry', 'rollback', ... */
  readonly why: string;
  /** Render and nft transaction, in milliseconds. */
  readonly durationMs: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly at: Date;
}

export interface RefusalEvent {
  /** A RefusalReason (snapshot.ts) for snapshots. */
  readonly reason: string;
  readonly message: string;
  readonly at: Date;
}

export interface StateEvent {
  readonly state: StatusState;
  /** Why, for error (and stale): the message a status shows. */
  readonly reason?: string;
  /** When this state was entered. */
  readonly since: Date;
}

export interface SnapshotEvent {
  readonly revision: string;
  readonly hash: string;
  /** ms since the epoch; absent in old snapshots. */
  readonly issuedAt?: number;
  readonly source: AgentSource;
  readonly at: Date;
}

/** The plan being applied and which HEP governs which interface (status shows both). */
export interface RenderedEvent {
  readonly plan: NodePlan;
  readonly dispatch: Dispatch;
  readonly at: Date;
}

export interface AgentObserver {
  /** An apply finished (ok or not), including the enforcer's retries and drift repairs. */
  applied?(e: ApplyEvent): void;
  /** A snapshot or bundle was refused; the state in force is kept. */
  refused?(e: RefusalEvent): void;
  /** The agent's state changed (in-sync, cached, error, stale); also on a new error reason. */
  stateChanged?(e: StateEvent): void;
  /** A verified snapshot was received (new revision), before it is applied. */
  snapshotReceived?(e: SnapshotEvent): void;
  /** The relay confirmed the revision in force (the same one again, or a re-signature). */
  synced?(e: { readonly revision: string; readonly hash: string; readonly at: Date }): void;
  /** The resources held back as invalid changed (undefined: none known / not reported). */
  heldBackChanged?(e: { readonly heldBack: HeldBack | undefined; readonly at: Date }): void;
  /**
   * A ruleset was rendered and is about to be applied (`applied` follows): the plan and the
   * interface dispatch it came from. Summarise it in the call; never keep the plan (MiBs).
   */
  rendered?(e: RenderedEvent): void;
  /** The agent is stopping (flush what is pending). */
  stopping?(): void | Promise<void>;
}

type Method = Exclude<keyof AgentObserver, 'stopping'>;
const METHODS: readonly Method[] = ['applied', 'refused', 'stateChanged', 'snapshotReceived', 'synced', 'heldBackChanged', 'rendered'];

/** One observer that calls every one of `observers` in order; a throwing one is logged, never rethrown. */
export function fanOut(observers: readonly AgentObserver[], log?: Pick<Logger, 'warn'>): Required<AgentObserver> {
  const out = {} as Record<Method, (e: never) => void>;
  for (const m of METHODS) {
    out[m] = (e: never) => callObservers(observers, m, [e], (event, err) => log?.warn({ err, event }, 'an agent observer failed; enforcement is not affected'));
  }
  return {
    ...(out as unknown as Required<Omit<AgentObserver, 'stopping'>>),
    stopping: async () => {
      for (const o of observers) {
        try {
          await o.stopping?.();
        } catch (err) {
          log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'an agent observer failed while stopping');
        }
      }
    },
  };
}
