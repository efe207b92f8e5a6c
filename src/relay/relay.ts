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
 * - Snapshot bytes depend only on (node closure, datastore revision, key): several relays on
 *   one datastore publish identical bytes, so it does not matter which one an agent hears.
 */
import type { KeyObject } from 'node:crypto';
import type { DatastoreSource, DatastoreState } from '../datastore/source.ts';
import type { MqttLink } from '../mqtt/client.ts';
import type { Logger } from '../platform/logger.ts';
import { computeNodePlan } from '../calc/node-plan.ts';
import { contentHash, encodeSnapshot } from '../protocol/snapshot.ts';
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

  const publish = async (topic: string, payload: Uint8Array | string, retain: boolean) => {
    if (!link.connected) return false;
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
    const { plan } = computeNodePlan({ node, resources: latest.resources });
    const tomb = encodeSnapshot({ node, revision, plan }, opts.signingKey);
    if ((await publish(snapshotTopic(prefix, node), tomb, false)) && (await publish(snapshotTopic(prefix, node), '', true))) {
      toClear.delete(node);
      log.info({ node, revision }, 'node has no host endpoint any more; retained snapshot cleared');
    } else toClear.add(node);
  };

  const compute = async () => {
    const state = latest;
    if (!state) return;
    const closures = computeClosures(state.resources);
    const fingerprints = new Map([...closures].map(([n, c]) => [n, planFingerprint(c.plan)] as const));
    const { changed, removed } = diffNodes(new Map([...published].map(([n, p]) => [n, p.fingerprint])), fingerprints);
    const warnings = new Map<string, string>();
    for (const [node, c] of closures) {
      const w = c.warnings.join('\n');
      warnings.set(node, w);
      if (w && lastWarnings.get(node) !== w) c.warnings.forEach((m) => log.warn({ node }, m));
    }
    lastWarnings = warnings;
    for (const node of changed) {
      const plan = closures.get(node)!.plan;
      const payload = encodeSnapshot({ node, revision: state.revision, plan }, opts.signingKey);
      published.set(node, { fingerprint: fingerprints.get(node)!, payload });
      await publish(snapshotTopic(prefix, node), payload, true);
    }
    for (const node of removed) {
      published.delete(node);
      await clearNode(node, state.revision);
    }
    if (!computedOnce) {
      computedOnce = true;
      for (const node of retainedSeen) if (!published.has(node)) toClear.add(node);
      for (const node of statusHashes.keys()) if (staleWithoutHep(node)) toClear.add(node);
    }
    for (const node of [...toClear]) if (!published.has(node)) await clearNode(node, state.revision);
    if (changed.length || removed.length) log.info({ revision: state.revision, published: changed, removed, nodes: closures.size }, 'snapshots published');
  };

  /** A node without HEPs whose agent reports enforcing something else: it missed its tombstone. */
  const staleWithoutHep = (node: string): boolean => {
    const hash = statusHashes.get(node);
    if (!latest || hash === undefined || published.has(node)) return false;
    return hash !== contentHash(computeNodePlan({ node, resources: latest.resources }).plan);
  };

  const coalescer = new Coalescer(compute, opts.quietMs ?? 20, opts.maxWaitMs ?? 250);

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
    if (!t || t.kind !== 'snapshot' || !retained || payload.length === 0) return;
    retainedSeen.add(t.node);
    if (computedOnce && !published.has(t.node)) {
      toClear.add(t.node);
      coalescer.trigger();
    }
  });
  link.onConnect(() => {
    log.info('connected to broker; republishing every snapshot');
    void (async () => {
      for (const [node, p] of published) await publish(snapshotTopic(prefix, node), p.payload, true);
      await link.subscribe([snapshotWildcard(prefix), statusWildcard(prefix)], 1).catch((e: Error) => log.warn({ err: e.message }, 'subscribe failed'));
      if (toClear.size) coalescer.trigger();
    })();
  });
  link.onState((s) => {
    if (!s.connected) log.warn({ err: s.error, retryInMs: s.retryInMs }, 'broker unreachable; will republish on reconnect');
  });

  await opts.source.start({
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
      coalescer.stop();
      await coalescer.idle();
      await opts.source.stop();
    },
  };
}
