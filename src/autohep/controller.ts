/**
 * The relay's side of auto host endpoints: agents' interfaces reports in (retained MQTT,
 * `<prefix>/nodes/+/interfaces`), `<node>-auto-hep` HostEndpoints in etcd out.
 *
 * - A report is validated (report-schema.ts) and must name the node of its topic; a refused
 *   report changes nothing (the HEP written from the last good one stays) and is logged with
 *   the reason.
 * - An empty retained message (the report cleared: the node is gone) deletes the node's HEP.
 *   Nothing else does: a relay starting without a node's report (the broker lost its retained
 *   messages, or the report was cleared while no relay ran) leaves the HEP alone, because
 *   removing a HEP by mistake changes what every policy selecting it lets through.
 * - Only HEPs carrying outpost's created-by label are changed or deleted (hep-mapping.ts); one
 *   of the same name without it is refused and logged, once per report.
 * - Identical resources are never rewritten (compared before writing; the store also skips a
 *   write of the bytes stored). Every update and delete is a compare-and-swap on the revision
 *   read, so an operator's edit in between is never overwritten blindly.
 * - Rate limit: at most one write per node every `minWriteIntervalMs` (default 5 s); reports in
 *   between only replace what the next write will say, so a flapping interface costs etcd one
 *   write per interval, not one per flap. Writes for all nodes share a few slots (default 4),
 *   so a relay start with a fleet of retained reports does not open a thousand requests at once.
 * - Failed writes (etcd away, a conflict) are retried after `retryMs`; every `resyncIntervalMs`
 *   (default 10 min) each node's HEP is read again and repaired if someone changed or deleted it.
 */
import type { MqttLink } from '../mqtt/client.ts';
import type { Logger } from '../platform/logger.ts';
import { nodeFromTopic, nodesWildcard } from '../protocol/topics.ts';
import type { HostEndpoint } from '../model/host-endpoint.ts';
import { decodeReport } from './report-schema.ts';
import { autoHepName, desiredHep, nextStep, type Obj } from './hep-mapping.ts';
import type { HepStore } from './etcd-writer.ts';
import { StoreError } from '../cli/resource-store.ts';

export interface AutoHepControllerOptions {
  readonly link: MqttLink;
  readonly topicPrefix: string;
  readonly store: HepStore;
  readonly log: Logger;
  readonly minWriteIntervalMs?: number;
  readonly retryMs?: number;
  /** 0: never. */
  readonly resyncIntervalMs?: number;
  readonly concurrency?: number;
  readonly now?: () => number;
}

export interface AutoHepController {
  /** Resolves when no write is pending or running (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

interface NodeEntry {
  /** undefined: the node is gone (report cleared). */
  want: HostEndpoint | undefined;
  wantKey: string;
  /** The wantKey last brought about (or refused) in etcd; undefined: check again. */
  doneKey: string | undefined;
  lastWriteAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  running: boolean;
}

const GONE = 'gone';

export function startAutoHepController(opts: AutoHepControllerOptions): AutoHepController {
  const { link, store, log, topicPrefix: prefix } = opts;
  const minInterval = opts.minWriteIntervalMs ?? 5_000;
  const retryMs = opts.retryMs ?? 5_000;
  const now = opts.now ?? Date.now;
  const nodes = new Map<string, NodeEntry>();
  let stopped = false;
  let slots = opts.concurrency ?? 4;
  const waiting: (() => void)[] = [];
  const idleWaiters: (() => void)[] = [];
  const topic = nodesWildcard(prefix, 'interfaces');

  const acquire = () => (slots > 0 ? (slots--, Promise.resolve()) : new Promise<void>((r) => waiting.push(r)));
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else slots++;
  };

  /** Nodes with a write waiting or running (a set, so idleness is known without a scan of every node). */
  const busy = new Set<string>();
  const settle = (node: string, e: NodeEntry) => {
    if (e.running || e.timer !== undefined) return;
    busy.delete(node);
    if (busy.size === 0) for (const w of idleWaiters.splice(0)) w();
  };

  function schedule(node: string, e: NodeEntry, delayMs?: number): void {
    if (stopped || e.running || e.timer !== undefined) return;
    if (e.doneKey === e.wantKey) return settle(node, e);
    const wait = delayMs ?? Math.max(0, e.lastWriteAt + minInterval - now());
    busy.add(node);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      void run(node, e);
    }, wait);
  }

  async function run(node: string, e: NodeEntry): Promise<void> {
    if (stopped) return settle(node, e);
    e.running = true;
    const key = e.wantKey;
    const want = e.want;
    const name = autoHepName(node);
    /** Why the write failed (to be tried again), if it did. */
    let failure: string | undefined;
    await acquire();
    try {
      const found = await store.get('HostEndpoint', name);
      const step = nextStep(found?.object as Obj | undefined, want, name);
      switch (step.do) {
        case 'nothing':
          break;
        case 'refuse':
          log.warn({ node, hostEndpoint: name }, `auto host endpoint not written: ${step.reason}`);
          break;
        case 'create':
          e.lastWriteAt = now();
          await store.create(step.hep);
          log.info({ node, hostEndpoint: name, expectedIPs: step.hep.spec?.expectedIPs }, 'auto host endpoint created');
          break;
        case 'update':
          e.lastWriteAt = now();
          await store.update({ ...step.hep, metadata: { ...step.hep.metadata, resourceVersion: found!.revision } });
          log.info({ node, hostEndpoint: name, expectedIPs: step.hep.spec?.expectedIPs }, 'auto host endpoint updated');
          break;
        case 'delete':
          e.lastWriteAt = now();
          await store.delete('HostEndpoint', name, found!.revision);
          log.info({ node, hostEndpoint: name }, 'auto host endpoint deleted: the node\'s interfaces report was cleared');
          break;
      }
      e.doneKey = key;
    } catch (err) {
      if (err instanceof StoreError && err.code === 'Invalid') {
        // A value under that key that cannot be read is nobody's proven auto HEP: left alone, as a foreign one is.
        log.warn({ node, hostEndpoint: name, err: err.message }, 'auto host endpoint not written: the resource stored under its name cannot be read; fix or delete it to let outpost manage it');
        e.doneKey = key;
      } else failure = (err as Error).message;
    } finally {
      release();
      e.running = false;
    }
    if (failure !== undefined) {
      const delay = Math.max(retryMs, e.lastWriteAt + minInterval - now());
      log.warn({ node, hostEndpoint: name, err: failure, retryInMs: delay }, 'auto host endpoint not written; trying again');
      schedule(node, e, delay);
    } else schedule(node, e);
    settle(node, e);
  }

  function want(node: string, hep: HostEndpoint | undefined): void {
    const key = hep ? JSON.stringify({ l: hep.metadata.labels, s: hep.spec }) : GONE;
    let e = nodes.get(node);
    if (!e) {
      // A clear for a node this relay never heard of still deletes (its HEP may predate the restart).
      e = { want: hep, wantKey: key, doneKey: undefined, lastWriteAt: 0, timer: undefined, running: false };
      nodes.set(node, e);
    } else if (e.wantKey === key) return;
    e.want = hep;
    e.wantKey = key;
    schedule(node, e);
  }

  link.onMessage((t, payload) => {
    if (stopped) return;
    const at = nodeFromTopic(prefix, t);
    if (!at || at.kind !== 'interfaces') return;
    const node = at.node;
    if (payload.length === 0) return want(node, undefined);
    const d = decodeReport(payload);
    if (!d.ok) {
      log.warn({ node, reason: d.message }, 'interfaces report refused; the node\'s auto host endpoint stays as it is');
      return;
    }
    if (d.report.node !== node) {
      log.warn({ node, reportNode: d.report.node }, `interfaces report refused: it names node ${JSON.stringify(d.report.node)} but came on node ${JSON.stringify(node)}'s topic; the auto host endpoint stays as it is`);
      return;
    }
    const hep = desiredHep(d.report);
    if (hep instanceof Error) {
      log.warn({ node, reason: hep.message }, 'interfaces report not used; the node\'s auto host endpoint stays as it is');
      return;
    }
    want(node, hep);
  });

  const subscribe = () => link.subscribe([topic], 1).catch((e: Error) => log.warn({ err: e.message, topic }, 'cannot subscribe to interfaces reports; trying again on reconnect'));
  link.onConnect(() => void subscribe());
  if (link.connected) void subscribe();

  const resyncMs = opts.resyncIntervalMs ?? 600_000;
  const resync = resyncMs > 0
    ? setInterval(() => {
        for (const [node, e] of nodes) {
          // A gone node's entry is kept until now so that its rate limit outlived the delete (a
          // report flapping between cleared and present still writes once per interval).
          if (e.wantKey === GONE && e.doneKey === GONE && !e.running && e.timer === undefined) {
            nodes.delete(node);
            continue;
          }
          e.doneKey = undefined;
          schedule(node, e);
        }
      }, resyncMs)
    : undefined;
  resync?.unref?.();
  log.info({ topic, minWriteIntervalMs: minInterval }, 'auto host endpoints: reading interfaces reports');

  return {
    idle: () => (busy.size > 0 ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
    stop: async () => {
      stopped = true;
      if (resync) clearInterval(resync);
      for (const e of nodes.values()) {
        if (e.timer) clearTimeout(e.timer);
        e.timer = undefined;
      }
      await link.unsubscribe?.([topic]).catch(() => undefined);
      // A write in flight finishes (it is one etcd request); nothing new starts.
      while ([...nodes.values()].some((e) => e.running)) await Bun.sleep(10);
      for (const w of idleWaiters.splice(0)) w();
    },
  };
}
