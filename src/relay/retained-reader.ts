/**
 * Reading every node's retained snapshot in a window instead of a standing subscription: the
 * relay subscribes to `<prefix>/nodes/+/snapshot`, lets the broker's retained messages arrive
 * until `quiet` ms pass without one, and unsubscribes. A standing subscription would bring every
 * publication of the relay back to it (the echo: a second copy of each fan-out).
 *
 * While a window is open, nodes the relay publishes are marked `touched`: what the broker sent
 * for them at subscribe time is older than what the relay now holds, not a replay.
 */
import type { MqttLink } from '../mqtt/client.ts';

export interface WindowResult {
  /** Highest revision of a snapshot the caller counted (scan). */
  readonly max: bigint | undefined;
  /** From subscribing to the last retained message: what the reading cost. */
  readonly readMs: number;
  /** Nodes with a non-empty retained snapshot. */
  readonly retained: ReadonlySet<string>;
  readonly touched: ReadonlySet<string>;
  /** The retained messages stopped (not cut short by the time limit). */
  readonly complete: boolean;
}

interface Open {
  readonly scan: boolean;
  readonly started: number;
  lastAt: number;
  lastRetainedAt: number;
  max: bigint | undefined;
  readonly touched: Set<string>;
  readonly retained: Set<string>;
}

export class RetainedReader {
  private open: Open | undefined;

  constructor(
    private readonly link: MqttLink,
    private readonly wildcard: string,
  ) {}

  /** A link without unsubscribe stays subscribed after the first window (and hears its echo). */
  get canUnsubscribe(): boolean {
    return typeof this.link.unsubscribe === 'function';
  }

  get reading(): boolean {
    return this.open !== undefined;
  }

  /** Reading for the revision floor (the caller reports revisions through `count`). */
  get scanning(): boolean {
    return this.open?.scan ?? false;
  }

  /** The relay is publishing `node` now. */
  touch(node: string): void {
    this.open?.touched.add(node);
  }

  touched(node: string): boolean {
    return this.open?.touched.has(node) ?? false;
  }

  /** A message on a node's snapshot topic. */
  note(node: string, payload: Uint8Array, retained: boolean): void {
    const w = this.open;
    if (!w) return;
    w.lastAt = performance.now();
    if (!retained) return;
    w.lastRetainedAt = w.lastAt;
    if (payload.length > 0) w.retained.add(node);
  }

  count(revision: bigint): void {
    const w = this.open;
    if (w && (w.max === undefined || revision > w.max)) w.max = revision;
  }

  async read(scan: boolean, quiet: number, maxMs: number): Promise<WindowResult> {
    const started = performance.now();
    const w: Open = { scan, started, lastAt: started, lastRetainedAt: started, max: undefined, touched: new Set(), retained: new Set() };
    this.open = w;
    try {
      await this.link.subscribe([this.wildcard], 1);
      while (performance.now() - w.lastAt < quiet && performance.now() - started < maxMs) await Bun.sleep(Math.min(50, quiet));
    } finally {
      if (this.open === w) this.open = undefined;
      if (this.canUnsubscribe) await this.link.unsubscribe!([this.wildcard]).catch(() => undefined);
    }
    return { max: w.max, readMs: w.lastRetainedAt - started, retained: w.retained, touched: w.touched, complete: performance.now() - w.lastAt >= quiet };
  }
}

/** An audit spends at most about 1/AUDIT_SHARE of the relay's time reading retained snapshots. */
const AUDIT_SHARE = 20;

/**
 * When audits run: at least `minMs` apart (0: never), and at least AUDIT_SHARE × the time the
 * last one spent reading. `run` returns that time, 'busy' to try again after `minMs`, or
 * 'off' (not connected: the next connect schedules again).
 */
export class AuditSchedule {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    readonly minMs: number,
    private readonly run: () => Promise<number | 'busy' | 'off'>,
  ) {}

  schedule(delayMs: number): void {
    if (this.minMs <= 0 || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fire(), delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const r = await this.run().catch(() => 0);
    if (r === 'off') return;
    this.schedule(r === 'busy' ? this.minMs : Math.max(this.minMs, AUDIT_SHARE * r));
  }
}
