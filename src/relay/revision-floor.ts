/**
 * Keeping a folder datastore's revisions moving forward across restarts.
 *
 * A folder datastore's revisions are made up by the relay (file times), so before its first
 * publication on each connection the relay reads the retained snapshots and counts those that
 * verify against its own key; the datastore's revisions are raised above the highest, so agents
 * never see an older revision after a restart. With a RevisionStore (--state) the last revision
 * is also kept on disk, for a broker that lost its retained messages with the relay (the
 * embedded one). An etcd datastore has real revisions and needs none of this.
 */
import type { DatastoreSource } from '../datastore/source.ts';
import type { Logger } from '../platform/logger.ts';
import type { RetainedReader } from './retained-reader.ts';
import type { RevisionStore } from './revision-store.ts';

export class RevisionFloor {
  private constructor(
    private readonly store: RevisionStore | undefined,
    /** The datastore, when its revisions can be raised (a folder); undefined for etcd. */
    private readonly floorSource: DatastoreSource | undefined,
    private readonly log: Logger,
    private stored: bigint | undefined,
  ) {}

  /** Reads the state dir's revision and raises the datastore's revisions above it before anything is computed. */
  static async open(store: RevisionStore | undefined, source: DatastoreSource, log: Logger): Promise<RevisionFloor> {
    const floorSource = source.raiseRevisionFloor ? source : undefined;
    const stored = store?.read();
    if (stored !== undefined) await floorSource?.raiseRevisionFloor?.(stored);
    return new RevisionFloor(store, floorSource, log, stored);
  }

  /** The datastore's revisions are made up here (a folder): read the retained snapshots before publishing. */
  get raisable(): boolean {
    return this.floorSource !== undefined;
  }

  /** Keeps a published revision in the state dir; call before anything carrying it goes out. */
  record(revision: string): void {
    if (!this.store) return;
    const r = BigInt(revision);
    if (this.stored !== undefined && r <= this.stored) return;
    try {
      this.store.write(r);
      this.stored = r;
    } catch (e) {
      this.log.error({ revision, err: (e as Error).message }, 'cannot record the published revision in the state dir; after a restart only the broker\'s retained snapshots keep revisions moving forward');
    }
  }

  /** Reads the retained snapshots and raises the folder's revisions above ours among them; true when raised. */
  async syncFromRetained(reader: RetainedReader, quietMs: number, maxMs: number, latestRevision: () => string | undefined): Promise<boolean> {
    const { max } = await reader.read(true, quietMs, maxMs);
    if (max === undefined || !(await this.floorSource!.raiseRevisionFloor!(max))) return false;
    this.log.info({ retained: max.toString(), revision: latestRevision() }, 'the broker holds snapshots of a newer revision than the files\' times; publishing above it');
    return true;
  }
}
