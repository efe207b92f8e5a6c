/**
 * Drift repair: when someone else deletes, flushes or edits `inet outpost` (`nft flush ruleset`,
 * `nft delete table inet outpost`, a rule added to one of our chains, a set element removed),
 * the agent puts its ruleset back within about a second and says what it found.
 *
 *   nft monitor (child, text mode) ── a transaction touched "inet outpost" ──┐
 *       our own (it wrote one of our recent stamps) ──▶ nothing             │
 *       anyone else's ─────────────────────────────────▶ check (coalesced) ──▶ enforcer.reapply()
 *   monitor (re)started (events may have been missed) ──▶ enforcer.audit()
 *
 * Why this shape:
 * - Cheap: `nft monitor` costs nothing while nobody changes the ruleset, and nothing is listed
 *   after our own transactions: every one of them writes the stamp (nft/stamp.ts), and its
 *   `add element ... stamp { ... comment "<digest>" }` line in the same generation marks it as
 *   ours. Events for any other table are ignored: nothing outside `inet outpost` is touched.
 * - Anyone else's transaction that touched our table is drift, whatever it did: the table is
 *   re-created (the enforcer forgets what it had in force). That is at least as strict as
 *   comparing listings, and costs a listing less.
 * - If `nft monitor` cannot run or dies, it is restarted with backoff, and the enforcer's full
 *   structural audit runs at each start (events may have been missed meanwhile). Logged, never
 *   silent. The enforcer also audits some seconds after each change and periodically.
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { Logger } from '../platform/logger.ts';
import { backoffStep } from '../platform/backoff.ts';
import { TABLE } from '../render/naming.ts';

/** What drift repair needs from the enforcer. */
export interface DriftTarget {
  /** Resolves when no apply is in flight. */
  settled(): Promise<void>;
  /** True when the desired ruleset is committed (and proven). */
  readonly upToDate: boolean;
  /** Re-creates the desired table even though it was applied before (the kernel lost it). */
  reapply(): Promise<boolean>;
  /** True for the monitor line one of our own recent transactions printed (its stamp). */
  isOwnMonitorLine(line: string): boolean;
  /** The full structural check of the table in force (repairs what it finds). */
  audit(): Promise<readonly string[]>;
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
  let checking = false;
  let again = false;
  let pendingLines: string[] = [];
  // The generation (transaction) being printed: its lines about our table, and whether it is ours.
  let genLines: string[] = [];
  let genTouched = false;
  let genOwn = false;

  /** Whether our table exists (a listing of table names: cheap whatever the table's size). */
  const tableExists = async (): Promise<boolean> => {
    const r = await execa(nft, ['-j', 'list', 'tables', 'inet'], { reject: false, timeout: 30_000, stdin: 'ignore', cwd: '/' });
    return r.exitCode === 0 && String(r.stdout).includes(`"name": "${TABLE}"`);
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
        const lines = pendingLines;
        pendingLines = [];
        if (stopped || !target.upToDate || !lines.length) continue;
        const gone = !(await tableExists());
        if (stopped) return;
        const found = describeDrift(lines, gone);
        log.warn({ table: `inet ${TABLE}` }, `${found}; restoring the ruleset`);
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
        genTouched = true;
        if (!genOwn && target.isOwnMonitorLine(line)) genOwn = true;
        if (genLines.length < 50) genLines.push(line);
      } else if (GENERATION.test(line)) {
        // Anyone else's transaction on our table, whatever it did, is drift.
        if (genTouched && !genOwn) {
          pendingLines.push(...genLines.slice(0, Math.max(0, 50 - pendingLines.length)));
          if (!pendingLines.length) pendingLines.push(line);
          schedule();
        }
        genLines = [];
        genTouched = false;
        genOwn = false;
      }
    });
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => {
      if (err.length < 2000) err += d.toString();
    });
    // Events may have been missed while no monitor ran: the full structural check.
    void target.audit().catch((e: Error) => log.error({ err: e.message }, 'audit failed'));
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
