/**
 * The status file, `<state>/status.json` (protocol/local-status.ts): an AgentObserver that keeps
 * what `outpost status` shows and writes it on every change.
 *
 * - Atomic: a temporary file, fsync, rename (and the directory fsync'd), so a reader sees the old
 *   or the new file, never half of one, also across a power cut.
 * - Never in the way: writes run after the event (coalesced, at most one in flight), and a
 *   failed write (full disk, read-only state dir) is logged once per distinct problem and retried
 *   with capped backoff, like the state store. Enforcement never waits for it.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import type { Logger } from '../platform/logger.ts';
import { backoffStep } from '../platform/backoff.ts';
import { fitHeldBackItem } from '../protocol/held-back.ts';
import { LOCAL_STATUS_FORMAT, MAX_FILE_POLICIES, STATUS_FILE, type EndpointStatus, type LocalStatus } from '../protocol/local-status.ts';
import { MAX_LAST_ERROR } from '../protocol/status.ts';
import type { AgentObserver, AgentSource, ApplyEvent } from './observations.ts';
import { endpointStatuses } from './status-plan.ts';

const cap = (s: string) => (s.length <= MAX_LAST_ERROR ? s : `${s.slice(0, MAX_LAST_ERROR - 1)}…`);

/** Writes `text` to `path` so that a reader sees the old or the new content, never a mix. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (e) {
    // A full disk: the half-written file would keep the last free space the state store needs.
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  // The rename itself is durable once the directory is synced (best effort: not every fs allows it).
  const dir = await open(join(path, '..'), 'r').catch(() => undefined);
  await dir?.sync().catch(() => undefined);
  await dir?.close();
}

export interface StatusFileOptions {
  readonly dir: string;
  readonly node: string;
  readonly source: AgentSource;
  readonly log: Pick<Logger, 'warn' | 'info'>;
  /** Quiet time before a write, so a burst of events is one write (default 50 ms). */
  readonly delayMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

type Body = Omit<LocalStatus, 'updatedAt'>;

const record = (e: ApplyEvent) => ({ at: e.at.toISOString(), durationMs: Math.round(e.durationMs * 10) / 10, ok: e.ok, why: e.why.slice(0, 100), ...(e.error !== undefined ? { error: cap(e.error) } : {}) });

export class StatusFile implements AgentObserver {
  private body: Body;
  private pendingPlan: { endpoints: EndpointStatus[]; count: number; staged: { key: string; name: string }[] } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  private problem: string | undefined;
  private stopped = false;
  readonly path: string;

  constructor(private readonly opts: StatusFileOptions) {
    this.path = join(opts.dir, STATUS_FILE);
    const now = new Date().toISOString();
    this.body = {
      format: LOCAL_STATUS_FORMAT,
      node: opts.node,
      source: opts.source,
      state: 'error',
      since: now,
      reason: 'starting: nothing applied by this agent yet',
      endpoints: [],
      endpointCount: 0,
      matchesNothing: false,
      refused: {},
      pid: process.pid,
      version: pkg.version,
      startedAt: now,
    };
    this.schedule(0);
  }

  /** What the file holds (or will once written). */
  get current(): LocalStatus {
    return { ...this.body, updatedAt: new Date().toISOString() };
  }

  stateChanged(e: Parameters<Required<AgentObserver>['stateChanged']>[0]): void {
    const { reason: _drop, ...rest } = this.body;
    this.body = { ...rest, state: e.state, since: e.since.toISOString(), ...(e.reason !== undefined ? { reason: cap(e.reason) } : {}) };
    this.schedule();
  }

  rendered(e: Parameters<Required<AgentObserver>['rendered']>[0]): void {
    this.pendingPlan = { endpoints: endpointStatuses(e.plan, e.dispatch), count: e.plan.endpoints.length, staged: (e.plan.staged ?? []).slice(0, MAX_FILE_POLICIES).map((p) => ({ key: p.key, name: p.name })) };
  }

  applied(e: ApplyEvent): void {
    const r = record(e);
    this.body = { ...this.body, source: e.source, lastApply: r };
    if (e.ok) {
      this.body.lastGoodApply = r;
      if (e.revision !== undefined) this.body.revision = e.revision;
      if (e.hash !== undefined) this.body.hash = e.hash;
      if (this.pendingPlan) {
        this.body.endpoints = this.pendingPlan.endpoints;
        this.body.endpointCount = this.pendingPlan.count;
        this.body.matchesNothing = this.pendingPlan.count === 0;
        const { staged: _drop, ...rest } = this.body;
        this.body = this.pendingPlan.staged.length ? { ...rest, staged: this.pendingPlan.staged } : rest;
      }
    }
    this.schedule();
  }

  refused(e: Parameters<Required<AgentObserver>['refused']>[0]): void {
    const reason = /^[a-z][a-z-]*$/.test(e.reason) ? e.reason : 'other';
    this.body = { ...this.body, refused: { ...this.body.refused, [reason]: (this.body.refused[reason] ?? 0) + 1 }, lastRefusal: { reason: reason.slice(0, 100), message: cap(e.message), at: e.at.toISOString() } };
    this.schedule();
  }

  snapshotReceived(e: Parameters<Required<AgentObserver>['snapshotReceived']>[0]): void {
    if (e.issuedAt !== undefined) this.body = { ...this.body, issuedAt: new Date(e.issuedAt).toISOString() };
  }

  heldBackChanged(e: Parameters<Required<AgentObserver>['heldBackChanged']>[0]): void {
    const { heldBack: _drop, ...rest } = this.body;
    this.body = e.heldBack ? { ...rest, heldBack: { ...e.heldBack, items: e.heldBack.items.map(fitHeldBackItem) } } : rest;
    this.schedule();
  }

  /** Writes what is pending now (the agent is stopping; the file stays for `status` to read). */
  async stopping(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    await this.flush();
    this.stopped = true;
  }

  private schedule(delay = this.opts.delayMs ?? 50): void {
    if (this.stopped) return;
    if (this.writing) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
    this.timer.unref?.();
  }

  private async flush(): Promise<void> {
    if (this.stopped) return;
    this.again = false;
    const text = `${JSON.stringify(this.current, null, 1)}\n`;
    const run = writeAtomic(this.path, text).then(
      () => {
        if (this.problem !== undefined) this.opts.log.info({ path: this.path }, 'status file written again');
        this.problem = undefined;
        this.failures = 0;
      },
      (e: Error) => {
        this.failures++;
        if (e.message !== this.problem) this.opts.log.warn({ path: this.path, err: e.message }, 'cannot write the status file (retried; enforcement is not affected)');
        this.problem = e.message;
        this.again = true;
      },
    );
    this.writing = run;
    await run;
    this.writing = undefined;
    if (this.again) this.schedule(this.failures ? backoffStep(this.failures - 1, this.opts.backoff ?? { initialMs: 500, maxMs: 30_000 }) : undefined);
  }
}
