/**
 * What the relay tells whoever watches it (metrics, tests): one call per event, never a poll.
 * Every method is optional, so an observer implements only what it counts. An observer that
 * throws is logged and ignored: watching the relay must never stop it publishing.
 */
import type { Logger } from '../platform/logger.ts';
import { callObservers } from '../platform/observers.ts';

export interface PolicyTestFailureSummary {
  /** The test's name (or its position when it has none). */
  readonly test: string;
  readonly expected: string;
  readonly got: string;
}

export interface RelayObserver {
  /** A datastore state was computed: how long planning and encoding took, and how many nodes' plans changed. */
  stateComputed?(e: { readonly revision: string; readonly durationMs: number; readonly nodesChanged: number; readonly nodes: number }): void;
  /** A node's snapshot was accepted by the broker (QoS 1 acknowledged). Re-signatures count too. */
  snapshotPublished?(e: { readonly node: string; readonly revision: string; readonly hash: string }): void;
  /** A publication the broker did not acknowledge (retried on reconnect). `node` is absent for relay-wide topics. */
  publishFailed?(e: { readonly topic: string; readonly node?: string; readonly error: string }): void;
  /** The set of resources held back as invalid changed; `count` is how many there are now. */
  heldBackChanged?(e: { readonly count: number }): void;
  /** The policy tests (relay `tests`) failed on a computed state: nothing of it was published. */
  testsFailing?(e: { readonly revision: string; readonly failed: number; readonly total: number; readonly failures: readonly PolicyTestFailureSummary[] }): void;
  /** The policy tests passed on a computed state (reported on every state, so a gauge can reset). */
  testsPassing?(e: { readonly revision: string; readonly total: number }): void;
  brokerConnected?(): void;
  brokerDisconnected?(e: { readonly error?: string }): void;
  /** The datastore answered (etcd watch established, or the folder was read). */
  datastoreConnected?(): void;
  /** The datastore cannot be read; the last state read stays in force. */
  datastoreDisconnected?(e: { readonly error: string }): void;
}

/** Calls `event` on each observer that has it; one that throws is logged, never passed on. */
export function notifyObservers<K extends keyof RelayObserver>(observers: readonly RelayObserver[], log: Logger, event: K, ...args: Parameters<NonNullable<RelayObserver[K]>>): void {
  callObservers(observers, event, args, (ev, err) => log.warn({ event: ev, err }, 'a relay observer failed; ignored'));
}
