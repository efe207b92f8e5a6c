/**
 * The folder datastore as a DatastoreSource for the relay (small sites: no etcd).
 *
 * Its revision comes from file times, but only ever moves forward:
 * - normally it is the newest modification time (microseconds) of any manifest file or folder
 *   under the watched paths: deleting a file updates its folder's mtime, so the revision moves
 *   on every kind of change, and two relays watching the same folder agree on it;
 * - a change whose times do not move forward (a file restored with an old timestamp, the clock
 *   set back) gets the last revision + 1;
 * - a restarted relay cannot trust file times either (files older than its last publication,
 *   a clock set back): it raises the floor (`raiseRevisionFloor`) to the highest revision it
 *   published before (retained snapshots on the broker, its --state dir), and starts above it
 *   unless the files are at least as new.
 */
import { stat } from 'node:fs/promises';
import { formatResourceError } from '../model/validate.ts';
import { FileResourceSource, STABLE_QUIET_MS, type FileSourceOptions, type LastGoodMemory, type LoadReport } from './file-source.ts';
import { listManifestFiles } from './manifest-files.ts';
import { HeldBackChanges } from './held-back-list.ts';
import type { DatastoreListener, DatastoreSource } from './source.ts';
import { dirname } from 'node:path';

async function newestMtimeMicros(path: string): Promise<bigint> {
  const st = await stat(path, { bigint: true });
  let newest = st.mtimeNs / 1000n;
  if (!st.isDirectory()) return newest;
  // The files and every folder holding one (a delete moves only its folder's time).
  const { files } = await listManifestFiles(path);
  for (const p of new Set(files.flatMap((f) => [f, dirname(f)]))) {
    try {
      const m = (await stat(p, { bigint: true })).mtimeNs / 1000n;
      if (m > newest) newest = m;
    } catch {
      // Vanished between the listing and stat, or a dangling link: the next poll sees the change.
    }
  }
  return newest;
}

export function unenforcedMessage(u: LoadReport['unenforced'][number]): string {
  return u.kind === 'file' ? `${u.source} ${u.why ?? 'cannot be read as manifests'}` : `${u.kind} '${u.name}' (${u.source}) has never been valid`;
}

export class FolderSource implements DatastoreSource {
  private readonly files: FileResourceSource;
  /** The last revision delivered. */
  private last: bigint | undefined;
  /** A revision published before (by an earlier run): never deliver below it, nor a different state at it. */
  private floor = -1n;
  private listener: DatastoreListener | undefined;
  /** One revision computation at a time, so two never pick the same number. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly paths: readonly string[],
    private readonly pollMs = 250,
    memory?: LastGoodMemory,
    options: FileSourceOptions = { quietMs: STABLE_QUIET_MS },
  ) {
    this.files = new FileResourceSource(paths, memory, options);
  }

  private async newest(): Promise<bigint> {
    let newest = 0n;
    for (const p of this.paths) {
      try {
        const m = await newestMtimeMicros(p);
        if (m > newest) newest = m;
      } catch {
        // Unreadable path: the load report already says so.
      }
    }
    return newest;
  }

  /** The file times when they moved forward (and are not below the floor), otherwise last + 1. */
  static pick(newest: bigint, last: bigint | undefined, floor: bigint): bigint {
    if ((last === undefined || newest > last) && newest >= floor) return newest;
    const base = last === undefined || floor > last ? floor : last;
    return base + 1n;
  }

  private emit(): Promise<void> {
    const next = this.chain.then(async () => {
      const revision = FolderSource.pick(await this.newest(), this.last, this.floor);
      this.last = revision;
      this.listener?.onState({ revision: revision.toString(), resources: this.files.current() });
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * `floor` was published before: revisions from now on are at least `floor`, and above it
   * unless the files' own time is exactly it (then this is the state published then). When
   * the state already delivered is below it, it is delivered again at a revision that is not;
   * resolves true once that happened.
   */
  async raiseRevisionFloor(floor: bigint): Promise<boolean> {
    if (floor <= this.floor) return false;
    this.floor = floor;
    if (this.last === undefined || this.last >= floor) return false;
    await this.emit();
    return true;
  }

  async start(listener: DatastoreListener): Promise<void> {
    const report = (r: LoadReport) => {
      if (r.fatal) listener.onError(`${r.fatal}; the last state read stays in force`);
      listener.onConnection?.(r.fatal === undefined, r.fatal);
      for (const e of r.errors) listener.onError(`invalid resource: ${formatResourceError(e)}`, e);
      for (const w of r.warnings) listener.onWarning?.(formatResourceError(w), w);
      for (const u of r.unenforced) listener.onError(`NOT ENFORCED: ${unenforcedMessage(u)}; nothing of it is published until it is fixed`);
    };
    const held = new HeldBackChanges((items) => listener.onHeldBack?.(items));
    const first = await this.files.load();
    report(first);
    held.offer(this.files.heldBack());
    if (first.fatal) throw new Error(first.fatal);
    this.listener = listener;
    await this.emit();
    this.files.watch((r) => {
      report(r);
      held.offer(this.files.heldBack());
      if (r.changed) void this.emit().catch((e: Error) => listener.onError(`cannot deliver the folder's state: ${e.message}`));
    }, this.pollMs);
  }

  async stop(): Promise<void> {
    this.files.stop();
  }
}
