/**
 * Audits of the retained snapshots: what the relay subscribes to its own snapshot topics for,
 * since it does not stay subscribed (no echo, relay.ts).
 *
 * An audit reads every retained snapshot in a window. What is on a topic and is not what this
 * relay published is flagged as it arrives (relay.ts, replay-guard.ts); what the audit adds is
 * the nodes whose topic holds nothing once the retained messages stopped (cleared by someone, or
 * lost by the broker): their current snapshot goes out again. A node the relay publishes while
 * an audit is reading is skipped by that audit (what the broker sent it is older; the next audit
 * looks again). The trade-off: a replay is found within an audit period instead of at once.
 * Audits never start during a computation or a fan-out (its echo would be read back for
 * nothing), run at least `intervalMs` apart (default 2 s) and at least 20× the time the last
 * one spent reading (reading the retained snapshots stays at most about 5 % of the relay's
 * time): every 2 s for a site, every 20 s if reading the fleet's snapshots takes a second.
 * Agents holding a snapshot refuse an older revision regardless; the period matters only to an
 * agent starting from nothing, which also refuses an expired one. A link that cannot unsubscribe
 * (tests' in-memory broker) stays subscribed, hears its echo and needs no audits.
 */
import type { MqttLink } from '../mqtt/client.ts';
import type { Logger } from '../platform/logger.ts';
import { AuditSchedule, type RetainedReader } from './retained-reader.ts';
import type { ReplayGuard } from './replay-guard.ts';

export interface AuditOptions {
  readonly link: MqttLink;
  readonly reader: RetainedReader;
  /** The nodes this relay has a snapshot for. */
  readonly publishedNodes: () => Iterable<string>;
  readonly replays: ReplayGuard;
  /** True while a computation, a fan-out or a reading of the retained snapshots is under way. */
  readonly busy: () => boolean;
  /** 0: no audits. */
  readonly intervalMs: number;
  readonly quietMs: number;
  readonly log: Logger;
}

/** The schedule is started by AuditSchedule.schedule() (at each connect). */
export function auditSchedule(o: AuditOptions): AuditSchedule {
  const { link, reader, log } = o;
  return new AuditSchedule(reader.canUnsubscribe ? o.intervalMs : 0, async () => {
    if (!link.connected) return 'off';
    if (o.busy()) return 'busy';
    try {
      const read = await reader.read(false, o.quietMs, 600_000);
      if (read.complete && link.connected) o.replays.missing([...o.publishedNodes()].filter((n) => !read.retained.has(n) && !read.touched.has(n)));
      return read.readMs;
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'cannot read the retained snapshots (audit)');
      return 0;
    }
  });
}
