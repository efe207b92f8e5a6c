/**
 * The folder datastore as a DatastoreSource for the relay (small sites: no etcd).
 *
 * Its revision is the newest modification time (microseconds) of any manifest file or folder
 * under the watched paths: deleting a file updates its folder's mtime, so the revision moves
 * forward on every kind of change, and two relays watching the same folder agree on it. A
 * change whose mtimes do not move forward (a file restored with an old timestamp) still gets a
 * higher revision than the last one this process published.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatResourceError } from '../model/validate.ts';
import { FileResourceSource, type LastGoodMemory, type LoadReport } from './file-source.ts';
import type { DatastoreListener, DatastoreSource } from './source.ts';

async function newestMtimeMicros(path: string): Promise<bigint> {
  const st = await stat(path, { bigint: true });
  let newest = st.mtimeNs / 1000n;
  if (!st.isDirectory()) return newest;
  for (const e of await readdir(path, { recursive: true, withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    try {
      const m = (await stat(join(e.parentPath, e.name), { bigint: true })).mtimeNs / 1000n;
      if (m > newest) newest = m;
    } catch {
      // Vanished between readdir and stat: the next poll sees the folder's new mtime.
    }
  }
  return newest;
}

export class FolderSource implements DatastoreSource {
  private readonly files: FileResourceSource;
  private revision = 0n;

  constructor(private readonly paths: readonly string[], private readonly pollMs = 250, memory?: LastGoodMemory) {
    this.files = new FileResourceSource(paths, memory);
  }

  private async nextRevision(): Promise<string> {
    let newest = 0n;
    for (const p of this.paths) {
      try {
        const m = await newestMtimeMicros(p);
        if (m > newest) newest = m;
      } catch {
        // Unreadable path: the load report already says so.
      }
    }
    this.revision = newest > this.revision ? newest : this.revision + 1n;
    return this.revision.toString();
  }

  async start(listener: DatastoreListener): Promise<void> {
    const report = (r: LoadReport) => {
      if (r.fatal) listener.onError(`${r.fatal}; the last state read stays in force`);
      for (const e of r.errors) listener.onError(`invalid resource: ${formatResourceError(e)}`, e);
      for (const w of r.warnings) listener.onWarning?.(formatResourceError(w), w);
      for (const u of r.unenforced) listener.onError(`NOT ENFORCED: ${u.kind === 'file' ? `${u.source} cannot be read as manifests` : `${u.kind} '${u.name}' (${u.source}) has never been valid`}; nothing of it is published until it is fixed`);
    };
    const first = await this.files.load();
    report(first);
    if (first.fatal) throw new Error(first.fatal);
    listener.onState({ revision: await this.nextRevision(), resources: this.files.current() });
    this.files.watch((r) => {
      report(r);
      if (!r.changed) return;
      void this.nextRevision().then((revision) => listener.onState({ revision, resources: this.files.current() }));
    }, this.pollMs);
  }

  async stop(): Promise<void> {
    this.files.stop();
  }
}
