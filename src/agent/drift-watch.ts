/**
 * Drift repair: when someone else deletes, flushes or edits `inet outpost` (`nft flush ruleset`,
 * `nft delete table inet outpost`, a rule added to one of our chains, a set element removed),
 * the agent puts its ruleset back within about a second and says what it found.
 *
 *   nft monitor (child, text mode) ── a transaction touched "inet outpost" ──▶ check (coalesced)
 *   enforcer outcome ok ─────────────────────────────────────────────────────▶ new baseline
 *   check: fingerprint of `nft -j -s list table inet outpost` ≠ baseline ──▶ enforcer.reapply()
 *
 * Why this shape:
 * - Cheap: `nft monitor` costs nothing while nobody changes the ruleset; the table is listed only
 *   after a transaction that touched our table. Events for any other table are ignored: no
 *   listing, no apply, nothing outside `inet outpost` is ever touched.
 * - Our own applies produce the same events. The fingerprint (stateless listing, handles
 *   removed) of the ruleset we applied is taken after each successful apply, so an event from
 *   our own transaction finds the kernel equal to it and does nothing; an event from anyone else
 *   finds a difference. Handles are left out so that re-creating the same table is no change.
 * - The repair goes through the enforcer: the same rendered bytes, one nft transaction, the
 *   same read-back check and retry-with-backoff as any apply.
 * - If `nft monitor` cannot run or dies, it is restarted with backoff, and the table is checked
 *   at each restart (events may have been missed meanwhile). Logged, never silent.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { Logger } from '../platform/logger.ts';
import { backoffStep } from '../platform/backoff.ts';
import { TABLE } from '../render/naming.ts';

/** What drift repair needs from the enforcer. */
export interface DriftTarget {
  onOutcome(cb: (r: { readonly ok: boolean }) => void): void;
  /** Resolves when no apply or read-back is in flight. */
  settled(): Promise<void>;
  /** True when the desired ruleset is committed (and read back). */
  readonly upToDate: boolean;
  /** Applies the desired ruleset again even though it was applied before (the kernel lost it). */
  reapply(): Promise<boolean>;
}

export interface DriftWatch {
  stop(): Promise<void>;
}

export interface DriftOptions {
  readonly nft: string;
  readonly target: DriftTarget;
  readonly log: Logger;
  /** Quiet time after a transaction before the table is checked (coalesces bursts). */
  readonly settleMs?: number;
  readonly restart?: { readonly initialMs: number; readonly maxMs: number };
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const OURS = new RegExp(`^\\w+ [a-z ]*?\\binet ${TABLE}(\\s|$)`);
const GENERATION = /^# new generation /;

/** True for an `nft monitor` line about an object in `inet outpost` (never another table). */
export function touchesOurTable(line: string): boolean {
  return OURS.test(line);
}

/** The listing without what changes on every re-creation or packet: metainfo, handles, counters. */
export function fingerprintOf(listing: unknown): string {
  const items = (listing as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(items)) return 'invalid';
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      if (k === 'handle' || k === 'packets' || k === 'bytes') continue;
      out[k] = strip(val);
    }
    return out;
  };
  const kept = items.filter((i) => !(typeof i === 'object' && i !== null && 'metainfo' in i)).map(strip);
  return createHash('sha256').update(JSON.stringify(kept)).digest('hex');
}

/** A short description of what the monitor saw, for the log line. */
export function describeDrift(lines: readonly string[], tableGone: boolean): string {
  if (tableGone || lines.some((l) => l.startsWith(`delete table inet ${TABLE}`))) {
    return tableGone ? `table inet ${TABLE} was deleted by someone else` : `table inet ${TABLE} was deleted and re-created by someone else`;
  }
  const seen = [...new Set(lines.map((l) => l.replace(/ handle \d+$/, '').slice(0, 120)))].slice(0, 5);
  return `table inet ${TABLE} was edited by someone else${seen.length ? ` (${seen.join('; ')})` : ''}`;
}

export function startDriftWatch(opts: DriftOptions): DriftWatch {
  const { nft, target, log } = opts;
  const settleMs = opts.settleMs ?? 50;
  const restart = opts.restart ?? { initialMs: 1000, maxMs: 30_000 };
  let stopped = false;
  let child: { kill(signal: 'SIGTERM'): boolean; catch(f: () => undefined): Promise<unknown> } | undefined;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let checkTimer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let baseline: string | null | undefined;
  let needBaseline = true;
  let checking = false;
  let again = false;
  let pendingLines: string[] = [];
  let touched = false;

  const list = async (): Promise<string | null> => {
    const r = await execa(nft, ['-j', '-s', 'list', 'table', 'inet', TABLE], { reject: false, timeout: 30_000, stdin: 'ignore', cwd: '/' });
    if (r.exitCode !== 0) return null;
    try {
      return fingerprintOf(JSON.parse(String(r.stdout)));
    } catch {
      return 'unparsable';
    }
  };

  const check = async (): Promise<void> => {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      do {
        again = false;
        await target.settled();
        // Nothing applied yet, or the enforcer is failing and retrying on its own: not drift.
        if (stopped || !target.upToDate) continue;
        const lines = pendingLines;
        pendingLines = [];
        const now = await list();
        if (stopped) return;
        if (needBaseline && now !== null) {
          needBaseline = false;
          baseline = now;
          continue;
        }
        if (!needBaseline && now === baseline) continue;
        const found = describeDrift(lines, now === null);
        log.warn({ table: `inet ${TABLE}` }, `${found}; restoring the ruleset`);
        needBaseline = true;
        const ok = await target.reapply();
        if (ok) log.warn({ table: `inet ${TABLE}` }, `${found}; restored`);
        else log.error({ table: `inet ${TABLE}` }, `${found}; restoring failed, retried with backoff`);
      } while (again && !stopped);
    } catch (e) {
      log.error({ err: (e as Error).message }, 'drift check failed');
    } finally {
      checking = false;
    }
  };

  const schedule = (ms = settleMs) => {
    if (stopped || checkTimer) return;
    checkTimer = setTimeout(() => {
      checkTimer = undefined;
      void check();
    }, ms);
  };

  target.onOutcome((r) => {
    if (!r.ok) return;
    needBaseline = true;
    schedule();
  });

  const startMonitor = () => {
    if (stopped) return;
    const startedAt = Date.now();
    const monitorOptions = { reject: false, stdin: 'ignore', stderr: 'pipe', buffer: false, cwd: '/' } as const;
    // With setpriv (util-linux), the monitor dies with the agent even on SIGKILL; otherwise an
    // orphaned monitor lingers until the next ruleset event (its write then fails and it exits).
    const proc = SETPRIV ? execa(SETPRIV, ['--pdeathsig', 'SIGTERM', '--', nft, 'monitor'], monitorOptions) : execa(nft, ['monitor'], monitorOptions);
    child = proc;
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      if (touchesOurTable(line)) {
        touched = true;
        if (pendingLines.length < 50) pendingLines.push(line);
      } else if (GENERATION.test(line) && touched) {
        touched = false;
        schedule();
      }
    });
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => {
      if (err.length < 2000) err += d.toString();
    });
    // Events may have been missed while no monitor ran.
    schedule();
    void proc.then((r) => {
      rl.close();
      if (stopped) return;
      if (Date.now() - startedAt > 60_000) failures = 0;
      const delay = backoffStep(failures++, restart);
      const why = r.failed && 'code' in r && r.code === 'ENOENT' ? `${nft} not found` : err.trim() || `exit ${r.exitCode ?? r.signal}`;
      log.error({ err: why, retryInMs: delay }, 'nft monitor stopped; drift is not watched until it restarts');
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        startMonitor();
      }, delay);
    });
  };
  startMonitor();

  return {
    stop: async () => {
      stopped = true;
      if (restartTimer) clearTimeout(restartTimer);
      if (checkTimer) clearTimeout(checkTimer);
      if (child) {
        child.kill('SIGTERM');
        await child.catch(() => undefined);
      }
    },
  };
}
