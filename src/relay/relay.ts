/**
 * The relay: datastore state in, one signed retained snapshot per node out.
 *
 * - Bursts coalesce (Coalescer); each computation covers every node with a HEP, and only nodes
 *   whose content changed are published, so unrelated edits do not wake the whole fleet.
 * - A node that lost its last HEP gets a signed snapshot with no endpoints (QoS 1, not
 *   retained: a connected or persistent-session agent stops enforcing), then its retained
 *   message is cleared.
 * - On every (re)connect everything is published again: the broker may have restarted and
 *   lost its retained messages. Retained snapshots of nodes this relay does not know (left
 *   over from before a restart) are cleared the same way.
 * - An agent's status names the hash it enforces. A node with no HEP whose agent reports
 *   another hash (it was offline when its last HEP went, and the broker has since lost the
 *   queued tombstone) gets the signed "no endpoints" snapshot again, so it converges.
 * - Snapshot content depends only on (node closure, datastore revision, key): several relays on
 *   one datastore publish the same plan at the same revision, so it does not matter which one an
 *   agent hears. The bytes differ by the issue time.
 * - Freshness: every `resignIntervalMs` each node's current snapshot is signed again with a new
 *   issue time (same revision, same hash), so agents can tell a live relay from a replayed
 *   retained message (they refuse an old one when they hold nothing, and report stale).
 * - Replay: a snapshot arriving on a node's topic that is not what this relay published (an older
 *   genuine one re-retained by someone, a forgery, or an empty payload clearing it) makes the
 *   relay publish its current snapshot again at once, so fresh agents are not left with the
 *   replay. Another relay's re-signature of the same or a newer revision (our key, issued no
 *   earlier than ours) is left alone, so two relays do not take turns overwriting each other.
 * - One node never holds back the others: a node whose plan cannot be computed, or whose
 *   snapshot is refused (over the size agents accept), is logged with its name and keeps the
 *   snapshot it has (never cleared); every other node is published.
 * - A folder datastore's revisions are made up here (file times), so before its first
 *   publication on each connection the relay reads the retained snapshots (`<prefix>/nodes/+/
 *   snapshot`, which it subscribes to anyway) and counts those that verify against its own key;
 *   the datastore's revisions are raised above the highest, so agents never see an older
 *   revision after a restart. With a RevisionStore (--state) the last revision is also kept on
 *   disk, for a broker that lost its retained messages with the relay (the embedded one).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { DatastoreSource, DatastoreState } from '../datastore/source.ts';
import type { MqttLink } from '../mqtt/client.ts';
import type { Logger } from '../platform/logger.ts';
import { computeNodePlan } from '../calc/node-plan.ts';
import type { NodePlan } from '../plan/schema.ts';
import { compareRevisions, contentHash, decodeSnapshot, encodeSnapshot } from '../protocol/snapshot.ts';
import type { RevisionStore } from './revision-store.ts';
import { decodeStatus } from '../protocol/status.ts';
import { nodeFromTopic, snapshotTopic, snapshotWildcard, statusWildcard } from '../protocol/topics.ts';
import { computeClosures, diffNodes, planFingerprint } from './closures.ts';
import { Coalescer } from './coalescer.ts';

export interface RelayOptions {
  readonly source: DatastoreSource;
  readonly link: MqttLink;
  readonly signingKey: KeyObject;
  readonly topicPrefix: string;
  readonly log: Logger;
  readonly quietMs?: number;
  readonly maxWaitMs?: number;
  /** Folder datastore with --state: the last published revision, kept on disk. */
  readonly revisionStore?: RevisionStore;
  /** How long retained snapshots may keep arriving before the first publication (default: 300 ms of quiet, at most 3 s). */
  readonly retainedQuietMs?: number;
  readonly retainedMaxMs?: number;
  /** How often every node's current snapshot is signed again with a new issue time; 0: never (default 1 h). */
  readonly resignIntervalMs?: number;
}

export interface RunningRelay {
  /** Resolves when no computation or publication is in flight (tests, benchmarks). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

interface Published {
  /** planFingerprint of what was published. */
  readonly fingerprint: string;
  readonly payload: Uint8Array;
  readonly revision: string;
  readonly issuedAt: number;
  readonly plan: NodePlan;
}

export async function startRelay(opts: RelayOptions): Promise<RunningRelay> {
  const { link, log, topicPrefix: prefix } = opts;
  const published = new Map<string, Published>();
  /** Nodes whose retained snapshot must be cleared (removed while offline, or left from before). */
  const toClear = new Set<string>();
  const retainedSeen = new Set<string>();
  /** The hash each agent last reported enforcing (its status). */
  const statusHashes = new Map<string, string>();
  let latest: DatastoreState | undefined;
  let computedOnce = false;
  let lastWarnings = new Map<string, string>();
  /** Nodes of the last computation, including those whose plan failed: never cleared. */
  let known = new Set<string>();
  /** The next computation publishes every node (the revision was raised, the content is the same). */
  let forceAll = false;

  const source = opts.source;
  const floorSource = source.raiseRevisionFloor ? source : undefined;
  /** No publication while the retained snapshots are read (folder datastore). */
  let syncing = floorSource !== undefined;
  let scan: { max: bigint | undefined; lastAt: number } | undefined;
  const publicKey = createPublicKey(opts.signingKey);
  let stored = opts.revisionStore?.read();
  if (stored !== undefined) await floorSource?.raiseRevisionFloor?.(stored);

  const publish = async (topic: string, payload: Uint8Array | string, retain: boolean) => {
    if (!link.connected || syncing) return false;
    try {
      await link.publish(topic, payload, { retain, qos: 1 });
      return true;
    } catch (e) {
      log.warn({ topic, err: (e as Error).message }, 'publish failed; everything is republished on reconnect');
      return false;
    }
  };

  const clearNode = async (node: string, revision: string) => {
    if (!latest) return;
    // Signed "no endpoints" first, so an agent that is listening stops enforcing this node's policy.
    let tomb: Uint8Array;
    try {
      const { plan } = computeNodePlan({ node, resources: latest.resources });
      tomb = encodeSnapshot({ node, revision, plan, issuedAt: Date.now() }, opts.signingKey);
    } catch (e) {
      log.error({ node, revision, err: (e as Error).message }, 'cannot build the empty snapshot of a node without host endpoints; its retained snapshot stays');
      return;
    }
    if ((await publish(snapshotTopic(prefix, node), tomb, false)) && (await publish(snapshotTopic(prefix, node), '', true))) {
      toClear.delete(node);
      log.info({ node, revision }, 'node has no host endpoint any more; retained snapshot cleared');
    } else toClear.add(node);
  };

  const recordRevision = (revision: string) => {
    if (!opts.revisionStore) return;
    const r = BigInt(revision);
    if (stored !== undefined && r <= stored) return;
    try {
      opts.revisionStore.write(r);
      stored = r;
    } catch (e) {
      log.error({ revision, err: (e as Error).message }, 'cannot record the published revision in the state dir; after a restart only the broker\'s retained snapshots keep revisions moving forward');
    }
  };

  const computeAndPublish = async () => {
    const state = latest;
    if (!state) return;
    const failed = new Map<string, string>();
    const closures = computeClosures(state.resources, failed);
    for (const [node, err] of failed) log.error({ node, revision: state.revision, err }, 'cannot compute this node\'s plan; it keeps the snapshot it has');
    known = new Set([...closures.keys(), ...failed.keys()]);
    const fingerprints = new Map([...closures].map(([n, c]) => [n, planFingerprint(c.plan)] as const));
    // A node that failed is neither changed nor removed: what it has stays.
    const before = new Map([...published].filter(([n]) => !failed.has(n)).map(([n, p]) => [n, p.fingerprint] as const));
    const diff = diffNodes(before, fingerprints);
    const changed = forceAll ? [...closures.keys()].sort() : diff.changed;
    const { removed } = diff;
    forceAll = false;
    // Recorded before anything carrying it goes out: a crash in between must not let a restart go below.
    if (changed.length || removed.length) recordRevision(state.revision);
    const warnings = new Map<string, string>();
    for (const [node, c] of closures) {
      const w = c.warnings.join('\n');
      warnings.set(node, w);
      if (w && lastWarnings.get(node) !== w) c.warnings.forEach((m) => log.warn({ node }, m));
    }
    lastWarnings = warnings;
    const refused: string[] = [];
    for (const node of changed) {
      const plan = closures.get(node)!.plan;
      let payload: Uint8Array;
      let issuedAt: number;
      try {
        issuedAt = Date.now();
        payload = encodeSnapshot({ node, revision: state.revision, plan, issuedAt }, opts.signingKey);
      } catch (e) {
        // Over the size agents accept, or a plan the schema refuses: this node keeps its last
        // snapshot (tried again on the next change); every other node goes on.
        log.error({ node, revision: state.revision, err: (e as Error).message }, 'snapshot refused; this node keeps the snapshot it has');
        refused.push(node);
        continue;
      }
      published.set(node, { fingerprint: fingerprints.get(node)!, payload, revision: state.revision, issuedAt, plan });
      await publish(snapshotTopic(prefix, node), payload, true);
    }
    for (const node of removed) {
      published.delete(node);
      await clearNode(node, state.revision);
    }
    if (!computedOnce) {
      computedOnce = true;
      for (const node of retainedSeen) if (!known.has(node)) toClear.add(node);
      for (const node of statusHashes.keys()) if (staleWithoutHep(node)) toClear.add(node);
    }
    for (const node of [...toClear]) {
      if (known.has(node)) toClear.delete(node);
      else await clearNode(node, state.revision);
    }
    const done = changed.filter((n) => !refused.includes(n));
    if (done.length || removed.length) log.info({ revision: state.revision, published: done, removed, nodes: closures.size, ...(refused.length ? { refused } : {}) }, 'snapshots published');
  };

  const compute = async () => {
    try {
      await computeAndPublish();
    } catch (e) {
      log.error({ err: (e as Error).stack ?? String(e) }, 'cannot compute the snapshots; what was published stays in force until the next change');
    }
  };

  /** A node without HEPs whose agent reports enforcing something else: it missed its tombstone. */
  const staleWithoutHep = (node: string): boolean => {
    const hash = statusHashes.get(node);
    if (!latest || hash === undefined || published.has(node) || known.has(node)) return false;
    try {
      return hash !== contentHash(computeNodePlan({ node, resources: latest.resources }).plan);
    } catch {
      return false;
    }
  };

  const coalescer = new Coalescer(compute, opts.quietMs ?? 20, opts.maxWaitMs ?? 250);

  /** Signs each node's current snapshot again with a new issue time (same revision and plan). */
  let resigning = false;
  const resignAll = async () => {
    if (resigning || !link.connected || syncing) return;
    resigning = true;
    try {
      for (const node of [...published.keys()]) {
        const p = published.get(node);
        if (!p) continue;
        // Never back in time, even if the clock is set back: agents only move issue times forward.
        const issuedAt = Math.max(Date.now(), p.issuedAt + 1);
        let payload: Uint8Array;
        try {
          payload = encodeSnapshot({ node, revision: p.revision, plan: p.plan, issuedAt }, opts.signingKey);
        } catch (e) {
          log.error({ node, err: (e as Error).message }, 'cannot re-sign the snapshot of this node; its agent will report stale');
          continue;
        }
        // A computation may have replaced it while we signed nothing asynchronously: only ours is swapped.
        if (published.get(node) !== p) continue;
        published.set(node, { ...p, payload, issuedAt });
        await publish(snapshotTopic(prefix, node), payload, true);
      }
      log.debug({ nodes: published.size }, 'snapshots re-signed');
    } finally {
      resigning = false;
    }
  };
  const resignMs = opts.resignIntervalMs ?? 3_600_000;
  const resignTimer = resignMs > 0 ? setInterval(() => void resignAll().catch((e: Error) => log.error({ err: e.message }, 're-signing failed')), resignMs) : undefined;

  /** Nodes whose topic holds something this relay did not publish; republished after a short pause (a flood costs one publication). */
  const overwrite = new Set<string>();
  let overwriteTimer: ReturnType<typeof setTimeout> | undefined;
  const republishCurrent = () => {
    overwriteTimer = undefined;
    const nodes = [...overwrite];
    overwrite.clear();
    void (async () => {
      for (const node of nodes) {
        const p = published.get(node);
        // The current bytes, not a new signature: their echo is byte-identical, so this cannot loop.
        if (p) await publish(snapshotTopic(prefix, node), p.payload, true);
      }
    })();
  };
  /** What arrived on a node's snapshot topic is ours, or another relay's signature of the same or a newer state. */
  const acceptable = (node: string, payload: Uint8Array, mine: Published): boolean => {
    if (Buffer.from(payload).equals(mine.payload)) return true;
    if (payload.length === 0) return false;
    const d = decodeSnapshot(payload, { publicKey, node });
    if (!d.ok || d.snapshot.issuedAt === undefined) return false;
    return compareRevisions(d.snapshot.revision, mine.revision) >= 0 && d.snapshot.issuedAt >= mine.issuedAt;
  };

  link.onMessage((topic, payload, retained) => {
    const t = nodeFromTopic(prefix, topic);
    if (t?.kind === 'status') {
      const st = decodeStatus(payload);
      if (!st.ok || st.status.node !== t.node || st.status.hash === undefined) return;
      statusHashes.set(t.node, st.status.hash);
      if (computedOnce && staleWithoutHep(t.node)) {
        toClear.add(t.node);
        coalescer.trigger();
      }
      return;
    }
    if (t?.kind === 'snapshot') {
      const mine = published.get(t.node);
      if (mine && !acceptable(t.node, payload, mine)) {
        if (!overwrite.has(t.node)) log.warn({ node: t.node, bytes: payload.length }, 'a snapshot this relay did not publish is on the node\'s topic (a replay, a forgery or a clear); publishing the current one again');
        overwrite.add(t.node);
        overwriteTimer ??= setTimeout(republishCurrent, 50);
      }
    }
    if (!t || t.kind !== 'snapshot' || payload.length === 0) return;
    if (scan) {
      // Only our own signature counts: anyone else could push the revisions to the end of the range.
      const d = decodeSnapshot(payload, { publicKey, node: t.node });
      if (d.ok && (scan.max === undefined || BigInt(d.snapshot.revision) > scan.max)) scan.max = BigInt(d.snapshot.revision);
      scan.lastAt = performance.now();
    }
    if (!retained) return;
    retainedSeen.add(t.node);
    if (computedOnce && !known.has(t.node)) {
      toClear.add(t.node);
      coalescer.trigger();
    }
  });

  const subscribe = () => link.subscribe([snapshotWildcard(prefix), statusWildcard(prefix)], 1);

  /** Reads the retained snapshots and raises the folder's revisions above ours among them; true when raised. */
  const syncFloor = async (): Promise<boolean> => {
    const quiet = opts.retainedQuietMs ?? 300;
    const started = performance.now();
    scan = { max: undefined, lastAt: started };
    let max: bigint | undefined;
    try {
      await subscribe();
      while (performance.now() - scan.lastAt < quiet && performance.now() - started < (opts.retainedMaxMs ?? 3000)) await Bun.sleep(Math.min(50, quiet));
    } finally {
      max = scan.max;
      scan = undefined;
    }
    if (max === undefined || !(await floorSource!.raiseRevisionFloor!(max))) return false;
    log.info({ retained: max.toString(), revision: latest?.revision }, 'the broker holds snapshots of a newer revision than the files\' times; publishing above it');
    return true;
  };

  const onConnected = () => {
    log.info('connected to broker; republishing every snapshot');
    void (async () => {
      if (floorSource) {
        syncing = true;
        let raised = false;
        try {
          raised = await syncFloor();
        } catch (e) {
          log.warn({ err: (e as Error).message }, 'subscribe failed');
        } finally {
          syncing = false;
        }
        if (raised) {
          forceAll = true;
          coalescer.trigger();
          return;
        }
      }
      for (const [node, p] of published) await publish(snapshotTopic(prefix, node), p.payload, true);
      if (!floorSource) await subscribe().catch((e: Error) => log.warn({ err: e.message }, 'subscribe failed'));
      if (toClear.size) coalescer.trigger();
    })();
  };
  link.onConnect(onConnected);
  // Connected before we were listening: the work of a connect is still due.
  if (link.connected) onConnected();
  link.onState((s) => {
    if (!s.connected) log.warn({ err: s.error, retryInMs: s.retryInMs }, 'broker unreachable; will republish on reconnect');
  });

  await source.start({
    onState: (s) => {
      latest = s;
      coalescer.trigger();
    },
    onError: (message, resource) => log.error(resource ? { source: resource.source, kind: resource.kind, name: resource.name, path: resource.path } : {}, message),
    onWarning: (message, resource) => log.warn(resource ? { source: resource.source, kind: resource.kind, name: resource.name, path: resource.path } : {}, message),
  });

  return {
    idle: () => coalescer.idle(),
    stop: async () => {
      if (resignTimer) clearInterval(resignTimer);
      if (overwriteTimer) clearTimeout(overwriteTimer);
      coalescer.stop();
      await coalescer.idle();
      await source.stop();
    },
  };
}
