/**
 * What the relay needs from a datastore, whichever it is (etcd in Calico's layout, or a folder
 * of manifests): the full set of valid resources at a revision, and a call whenever it changes.
 *
 * - `revision` is a decimal string (etcd's int64 ModRevision space, or for the folder its newest
 *   mtime in microseconds, kept moving forward). It never goes backwards for one datastore, so
 *   agents can refuse older snapshots; two relays reading the same datastore state see the same
 *   revision (for the folder: as long as its file times move forward).
 * - Invalid resources are reported through `onError` and never reach `onState`; a resource
 *   that was valid and became invalid keeps its last valid version (as the folder source does).
 */
import type { Resource } from '../model/resource.ts';
import type { ResourceError } from '../model/validate.ts';
import type { HeldBackItem } from '../protocol/held-back.ts';

export interface DatastoreState {
  readonly revision: string;
  readonly resources: readonly Resource[];
}

export interface DatastoreListener {
  /** Called after the first complete read and after every change (may be called in bursts). */
  onState(state: DatastoreState): void;
  /** A resource that could not be used, or the datastore being unreachable (then `resource` is undefined). */
  onError(message: string, resource?: ResourceError): void;
  /** A valid resource with something outpost does not act on (an ignored field, a skipped kind). */
  onWarning?(message: string, resource?: ResourceError): void;
  /**
   * The resources held back as invalid now (each once, sorted); called after the first read and
   * whenever the set changes: one added when its stored value is invalid, removed when fixed or deleted.
   */
  onHeldBack?(items: readonly HeldBackItem[]): void;
  /** The datastore answers (true) or cannot be read (false, with why); called on changes, may repeat. */
  onConnection?(connected: boolean, error?: string): void;
}

export interface DatastoreSource {
  /** Resolves once the first complete state was delivered (or rejects if the datastore was never readable). */
  start(listener: DatastoreListener): Promise<void>;
  stop(): Promise<void>;
  /**
   * Only for a datastore whose revisions this process makes up (the folder): `floor` was
   * published before (by an earlier run), so revisions from now on must not fall below it. When
   * the state already delivered is below it, the state is delivered again above it (resolves
   * true once that happened).
   */
  raiseRevisionFloor?(floor: bigint): Promise<boolean>;
}
