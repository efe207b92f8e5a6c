/**
 * Offline bundles reaching a running agent: two folders, polled (no inotify: a USB stick is
 * mounted and unmounted under us, and a poll sees that the same way as a file change).
 *
 * - The drop folder (`bundleDir`, e.g. a USB mount): the agent reads `<dir>/<node>.bundle`, so
 *   one stick can carry a whole site's `outpost bundle export --all`. Nothing is written there
 *   (it may be mounted read-only). A file is read once it has looked the same (size, mtime,
 *   inode) on two polls in a row, so a copy in progress is not refused as truncated; each
 *   version of the file is handled once. These bundles follow every rule of a relay snapshot,
 *   the age rule included: a stick found in a drawer must not roll a site back.
 * - The inbox (`<state>/inbox`): where `outpost bundle import` hands a bundle to the running
 *   agent (the state dir is the agent's, 0700). It writes `<id>.bundle` by rename; the agent
 *   handles it, writes its verdict to `<id>.result` (also by rename) and deletes the bundle,
 *   so the importer can tell the operator what happened. An operator's explicit import is
 *   exempt from the age rule (and only from that).
 *
 * Both feed the same verify → store → apply path as MQTT snapshots (relay-mode.ts `receive`).
 */
import { closeSync, mkdirSync, openSync, readSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import type { Logger } from '../platform/logger.ts';
import { MAX_SNAPSHOT_BYTES } from '../protocol/snapshot.ts';

const INBOX_DIR = 'inbox';
export const BUNDLE_SUFFIX = '.bundle';
export const RESULT_SUFFIX = '.result';
const DEFAULT_BUNDLE_POLL_MS = 1000;

export interface BundleOrigin {
  /** 'import': `outpost bundle import` (explicit); 'drop': found in the drop folder. */
  readonly kind: 'import' | 'drop';
  readonly file: string;
  /** True only for an operator's explicit import: exempt from the snapshot age rule. */
  readonly explicit: boolean;
}

/** What the agent writes to `<id>.result`; `bundle import` reads it back through this schema. */
export const BundleVerdictSchema = v.object({ ok: v.boolean(), message: v.string() });
export type BundleVerdict = Readonly<v.InferOutput<typeof BundleVerdictSchema>>;

export interface BundleDropOptions {
  readonly node: string;
  readonly state: string;
  readonly dir?: string;
  readonly log: Logger;
  readonly pollMs?: number;
  readonly handle: (payload: Uint8Array, origin: BundleOrigin) => Promise<BundleVerdict>;
}

/** The inbox of the agent on `state`, created if missing (0700, like the state dir). */
export function inboxOf(state: string): string {
  return join(state, INBOX_DIR);
}

/** At most MAX_SNAPSHOT_BYTES + 1 bytes: an oversized file is refused by the decoder, never slurped. */
export function readBounded(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(statSync(path).size, MAX_SNAPSHOT_BYTES) + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0 || n + r >= buf.length) return new Uint8Array(buf.subarray(0, n + r));
      n += r;
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` to `path` by rename, so a reader never sees half of it. */
export function writeByRename(path: string, text: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

export function startBundleDrop(opts: BundleDropOptions): { stop(): Promise<void> } {
  const { log, node } = opts;
  const inbox = inboxOf(opts.state);
  const dropFile = opts.dir === undefined ? undefined : join(opts.dir, `${node}${BUNDLE_SUFFIX}`);
  let lastSeen = '';
  let handled = '';
  let lastProblem = '';
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  try {
    mkdirSync(inbox, { recursive: true, mode: 0o700 });
  } catch (e) {
    log.warn({ inbox, err: (e as Error).message }, 'cannot create the bundle inbox; `outpost bundle import` cannot reach this agent');
  }

  const pollInbox = async () => {
    let names: string[];
    try {
      names = readdirSync(inbox).filter((n) => n.endsWith(BUNDLE_SUFFIX)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const file = join(inbox, name);
      let verdict: BundleVerdict;
      try {
        verdict = await opts.handle(readBounded(file), { kind: 'import', file, explicit: true });
      } catch (e) {
        verdict = { ok: false, message: `cannot read ${file}: ${(e as Error).message}` };
      }
      try {
        writeByRename(join(inbox, name.slice(0, -BUNDLE_SUFFIX.length) + RESULT_SUFFIX), `${JSON.stringify(verdict)}\n`);
        unlinkSync(file);
      } catch (e) {
        log.error({ file, err: (e as Error).message }, 'cannot record the verdict of an imported bundle');
      }
    }
  };

  const pollDrop = async () => {
    if (dropFile === undefined) return;
    let sig: string;
    try {
      const st = statSync(dropFile);
      sig = `${st.size}:${st.mtimeMs}:${st.ino}:${st.dev}`;
    } catch (e) {
      // No stick, or no bundle for this node on it: the normal case, said once.
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      if (code !== 'ENOENT' && code !== lastProblem) log.warn({ file: dropFile, err: code }, 'cannot read the bundle drop folder');
      lastProblem = code;
      lastSeen = '';
      return;
    }
    lastProblem = '';
    // Unchanged since it was handled, or still changing (a copy in progress): wait.
    if (sig === handled) return;
    if (sig !== lastSeen) {
      lastSeen = sig;
      return;
    }
    handled = sig;
    let payload: Uint8Array;
    try {
      payload = readBounded(dropFile);
    } catch (e) {
      // Pulled out mid-read: the next version of the file is handled again.
      handled = '';
      log.warn({ file: dropFile, err: (e as Error).message }, 'cannot read the dropped bundle');
      return;
    }
    log.info({ file: dropFile }, 'bundle found in the drop folder');
    await opts.handle(payload, { kind: 'drop', file: dropFile, explicit: false });
  };

  const poll = async () => {
    await pollInbox();
    await pollDrop();
  };

  const tick = () => {
    if (stopped) return;
    running = poll()
      .catch((e: Error) => log.error({ err: e.message }, 'bundle poll failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, opts.pollMs ?? DEFAULT_BUNDLE_POLL_MS);
      });
  };
  let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(tick, 0);
  if (dropFile) log.info({ file: dropFile }, 'watching for offline bundles');

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
