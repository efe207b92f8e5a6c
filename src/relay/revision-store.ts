/**
 * The folder relay's last published revision in its --state dir. The folder datastore makes its
 * revisions up from file times; after a restart they can be older than what agents already hold
 * (files restored, the clock set back), and agents refuse older revisions. With this record (and
 * the broker's retained snapshots) a restarted relay starts above what it published before.
 *
 * One small file, replaced atomically (temporary file, fsync, rename): a crash leaves the old or
 * the new number, never a torn one. Written before the snapshots carrying the revision go out.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface RevisionStore {
  /** The last revision recorded, if any (a damaged record is logged and ignored). */
  read(): bigint | undefined;
  /** Records `revision`; throws on I/O errors (the caller logs and goes on). */
  write(revision: bigint): void;
}

const FILE = 'relay-folder-revision';
const RE = /^(0|[1-9][0-9]{0,18})\n?$/;

export function fileRevisionStore(dir: string, warn: (message: string) => void): RevisionStore {
  const path = join(dir, FILE);
  return {
    read() {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read ${path} (${(e as Error).message}); the revision floor comes from the broker alone`);
        return undefined;
      }
      if (!RE.test(text)) {
        warn(`${path} does not hold a revision; ignored`);
        return undefined;
      }
      return BigInt(text.trim());
    },
    write(revision) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${path}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, `${revision}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    },
  };
}
