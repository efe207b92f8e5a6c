/**
 * The relay's side of resources held back as invalid: each change is logged (an error per
 * resource newly held back or with a new reason, a line when one is fixed or deleted: once per
 * change, never per poll), published retained on `<prefix>/relay/held-back` (QoS 1; at most
 * MAX_HELD_BACK_ITEMS entries, `count` says how many in all), and counted for metrics. A
 * publication that did not go out (broker away) is tried again on reconnect.
 */
import { canonicalBytes } from '../protocol/canonical-json.ts';
import { fitHeldBackItem, MAX_HELD_BACK_ITEMS, type HeldBack, type HeldBackItem } from '../protocol/held-back.ts';
import { heldBackTopic } from '../protocol/topics.ts';
import type { Logger } from '../platform/logger.ts';

const id = (i: HeldBackItem) => `${i.source}\0${i.kind}\0${i.name}`;

/**
 * Retained messages stay small enough for any broker (the embedded one refuses a retained
 * message over 16 KiB and closes the publisher's connection): entries are kept while the
 * message stays within this, `count` says how many there are in all.
 */
const MAX_HELD_BACK_BYTES = 12 * 1024;

export function heldBackMessage(items: readonly HeldBackItem[], since: Date): HeldBack {
  const kept: HeldBackItem[] = [];
  let bytes = 200;
  for (const i of items.slice(0, MAX_HELD_BACK_ITEMS).map(fitHeldBackItem)) {
    bytes += Buffer.byteLength(JSON.stringify(i)) + 1;
    if (bytes > MAX_HELD_BACK_BYTES) break;
    kept.push(i);
  }
  return { count: items.length, items: kept, since: since.toISOString() };
}

export class HeldBackPublisher {
  private current = new Map<string, HeldBackItem>();
  private since = new Date();
  /** The current list still has to reach the broker. */
  private pending = false;
  private known = false;

  constructor(
    private readonly prefix: string,
    private readonly publish: (topic: string, payload: Uint8Array) => Promise<boolean>,
    private readonly log: Logger,
    private readonly onCount: (count: number) => void,
  ) {}

  get count(): number {
    return this.current.size;
  }

  /** The source's current set (each change, sorted). */
  update(items: readonly HeldBackItem[], now = new Date()): void {
    const next = new Map(items.map((i) => [id(i), i]));
    for (const [k, i] of next) {
      if (same(this.current.get(k), i)) continue;
      const what = i.lastValidInForce ? 'its last valid version stays in force' : 'nothing of it is enforced';
      this.log.error({ kind: i.kind, name: i.name, source: i.source, reason: i.reason, lastValidInForce: i.lastValidInForce }, `held back as invalid: ${i.kind} '${i.name}' (${i.source}): ${i.reason}; ${what}`);
    }
    for (const [k, i] of this.current) if (!next.has(k)) this.log.info({ kind: i.kind, name: i.name, source: i.source }, `no longer held back: ${i.kind} '${i.name}' (${i.source}) is valid again or gone`);
    const changed = !this.known || next.size !== this.current.size || [...next].some(([k, i]) => !same(this.current.get(k), i));
    this.known = true;
    this.current = next;
    if (!changed) return;
    this.since = now;
    this.pending = true;
    this.onCount(next.size);
    void this.flush();
  }

  /** Publishes the list if it has not reached the broker yet (after a change, on reconnect: `force`). */
  async flush(force = false): Promise<void> {
    if (!this.known || (!this.pending && !force)) return;
    this.pending = false;
    const payload = canonicalBytes(heldBackMessage([...this.current.values()], this.since));
    if (!(await this.publish(heldBackTopic(this.prefix), payload))) this.pending = true;
  }
}

function same(a: HeldBackItem | undefined, b: HeldBackItem): boolean {
  return a !== undefined && a.reason === b.reason && a.lastValidInForce === b.lastValidInForce;
}
