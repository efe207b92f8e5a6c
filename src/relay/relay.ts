/**
 * The relay: datastore state in, one signed retained snapshot per node out.
 *
 * - Bursts coalesce (Coalescer). Each datastore state is diffed against the last one and only
 *   the nodes the changes can reach are computed again (PlanIndex: HEPs by node, policy
 *   selectors → HEPs, set selectors → members, profiles → inheritors; byte-identical to the
 *   from-scratch computeNodePlan, test/unit/relay/differential.test.ts). Of those, only nodes
 *   whose plan really changed (structural comparison, no serialisation) are encoded — once each —
 *   and published, so unrelated edits do not wake the whole fleet.
 * - Publications go through a bounded window (PublishWindow, 64 QoS 1 publishes outstanding):
 *   a fan-out costs about one round trip per 64 nodes, and memory stays bounded.
 * - A node that lost its last HEP gets a signed snapshot with no endpoints, then its retained
 *   messages are cleared (node-publisher.ts: every publication goes through it).
 * - On every (re)connect everything is published again: the broker may have restarted and
 *   lost its retained messages. Retained snapshots of nodes this relay does not know (left
 *   over from before a restart) are cleared the same way.
 * - An agent's status names the hash it enforces. A node with no HEP whose agent reports
 *   another hash missed its tombstone and gets it again (agent-statuses.ts).
 * - Snapshot content depends only on (node closure, datastore revision, key): several relays on
 *   one datastore publish the same plan at the same revision, so it does not matter which one an
 *   agent hears. The bytes differ by the issue time.
 * - Freshness: every `resignIntervalMs` each node's current snapshot is signed again with a new
 *   issue time (resigner.ts).
 * - No echo: the relay does not stay subscribed to its own snapshot topics (every publication
 *   would come back to it: at 10,000 nodes, a second copy of the whole fan-out). It subscribes
 *   to `<prefix>/nodes/+/snapshot` only for short windows, and unsubscribes once the retained
 *   messages stop arriving: at connect (the folder's revision floor, below) and then in periodic
 *   audits. MQTT 5's no-local would keep a live subscription without the echo, but the embedded
 *   broker (Aedes) speaks MQTT 3.1.1 only.
 * - Replay: a snapshot on a node's topic that is not what this relay published (an older genuine
 *   one re-retained by someone, a forgery) makes the relay publish its current snapshot again at
 *   once. Another relay's re-signature of the same or a newer revision (our key, issued no
 *   earlier than ours) is left alone, so two relays do not take turns overwriting each other.
 *   Periodic audits (audits.ts) also put back snapshots missing from the broker.
 * - One node never holds back the others: a node whose plan cannot be computed, or whose
 *   snapshot is refused (over the size agents accept), is logged with its name and keeps the
 *   snapshot it has (never cleared), and is tried again on the next change; every other node is
 *   published.
 * - A folder datastore's revisions are made up here (file times): before its first publication on
 *   each connection they are raised above the retained snapshots' and the state dir's
 *   (revision-floor.ts), so agents never see an older revision after a restart.
 * - Operators (issue 13): with each snapshot goes a small retained `expected` message (revision,
 *   hash, issue time) that `outpost fleet` compares with the node's status; resources the
 *   datastore holds back as invalid are logged once per change and published retained
 *   (held-back-publisher.ts); with policy tests, a state whose tests fail is not published at all
 *   (test-gate.ts); every event goes to the observers (observations.ts: metrics).
 * - Encoding: each changed node's plan is serialised once and signed (snapshot-signer.ts);
 *   nothing else in the relay serialises plans (change detection compares them structurally).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { DatastoreSource, DatastoreState } from '../datastore/source.ts';
import type { MqttLink } from '../mqtt/client.ts';
import type { Logger } from '../platform/logger.ts';
import type { NodePlan } from '../plan/schema.ts';
import { NodePlans } from './node-plans.ts';
import { decodeSnapshot } from '../protocol/snapshot.ts';
import type { RevisionStore } from './revision-store.ts';
import { encodeExpected } from '../protocol/expected.ts';
import { nodeFromTopic, snapshotWildcard, statusWildcard } from '../protocol/topics.ts';
import { Coalescer } from './coalescer.ts';
import { PublishWindow } from './publish-window.ts';
import { RetainedReader } from './retained-reader.ts';
import { auditSchedule } from './audits.ts';
import { ReplayGuard, acceptable } from './replay-guard.ts';
import { notifyObservers, type RelayObserver } from './observations.ts';
import { HeldBackPublisher } from './held-back-publisher.ts';
import { PolicyTestGate } from './test-gate.ts';
import { SnapshotSigner, type Signed } from './snapshot-signer.ts';
import { NodePublisher, type Published } from './node-publisher.ts';
import { Resigner } from './resigner.ts';
import { RevisionFloor } from './revision-floor.ts';
import { AgentStatuses } from './agent-statuses.ts';
import type { PolicyTest } from '../explain/policy-tests.ts';

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
  /** Shortest time between two audits of the retained snapshots (default 2 s); 0: no audits. */
  readonly auditIntervalMs?: number;
  /** Publications outstanding at once (default 64). */
  readonly publishWindow?: number;
  /** Told about every computation, publication, connection change (metrics). */
  readonly observers?: readonly RelayObserver[];
  /** Policy tests: a computed state whose tests fail is not published (test-gate.ts). */
  readonly tests?: readonly PolicyTest[];
}

export interface RunningRelay {
  /** Resolves when no computation or publication is in flight (tests, benchmarks). */
  idle(): Promise<void>;
  /** For /readyz: the datastore's first state was read and it answers; the broker link is up. */
  health(): { readonly datastoreSynced: boolean; readonly brokerConnected: boolean };
  stop(): Promise<void>;
}

export async function startRelay(opts: RelayOptions): Promise<RunningRelay> {
  const { link, log, topicPrefix: prefix } = opts;
  const observers = opts.observers ?? [];
  const notify = <K extends keyof RelayObserver>(event: K, ...args: Parameters<NonNullable<RelayObserver[K]>>) => notifyObservers(observers, log, event, ...args);
  let datastoreUp = false;
  const published = new Map<string, Published>();
  const retainedSeen = new Set<string>();
  const statuses = new AgentStatuses();
  const plans = new NodePlans(log);
  let latest: DatastoreState | undefined;
  let computedOnce = false;
  /** The next computation publishes every node (the revision was raised, the content is the same). */
  let forceAll = false;
  const window = new PublishWindow(opts.publishWindow ?? 64);

  const source = opts.source;
  const reader = new RetainedReader(link, snapshotWildcard(prefix));
  const canUnsubscribe = reader.canUnsubscribe;
  let computing = false;
  const publicKey = createPublicKey(opts.signingKey);
  const floor = await RevisionFloor.open(opts.revisionStore, source, log);
  // No publication while the retained snapshots are read (folder datastore).
  const pub = new NodePublisher({ link, prefix, log, window, reader, observers }, floor.raisable);
  const toClear = pub.toClear;

  const signer = new SnapshotSigner(opts.signingKey);
  const heldBack = new HeldBackPublisher(prefix, (topic, payload) => pub.send(topic, payload, true), log, (count) => notify('heldBackChanged', { count }));
  const gate = opts.tests?.length
    ? new PolicyTestGate(opts.tests, prefix, (topic, payload) => pub.send(topic, payload, true), log, {
        failing: (e) => notify('testsFailing', e),
        passing: (e) => notify('testsPassing', e),
      })
    : undefined;

  const clearNode = async (node: string, revision: string) => {
    // Signed "no endpoints" first, so an agent that is listening stops enforcing this node's policy.
    let tomb: Uint8Array;
    try {
      const { plan } = plans.plan(node);
      tomb = signer.sign(node, revision, plan, Date.now()).payload;
    } catch (e) {
      log.error({ node, revision, err: (e as Error).message }, 'cannot build the empty snapshot of a node without host endpoints; its retained snapshot stays');
      return;
    }
    await pub.clear(node, revision, tomb);
  };

  const computeAndPublish = async () => {
    const state = latest;
    if (!state) return;
    const t0 = performance.now();
    const fresh = plans.compute(state);
    const known = plans.known;
    const planMs = performance.now() - t0;
    let encodeMs = 0;
    const changed = plans.changed(fresh, published, forceAll);
    const wasForceAll = forceAll;
    forceAll = false;
    const removed = [...published.keys()].filter((n) => !known.has(n)).sort();
    if (gate && !gate.check(state.revision, (n) => planAt(n, fresh), [...known].sort())) {
      // Nothing of this state goes out; what it changed is computed (and tested) again next time.
      for (const n of changed) plans.retryLater(n);
      forceAll = wasForceAll;
      notify('stateComputed', { revision: state.revision, durationMs: performance.now() - t0, nodesChanged: 0, nodes: known.size });
      return;
    }
    // Recorded before anything carrying it goes out: a crash in between must not let a restart go below.
    if (changed.length || removed.length) floor.record(state.revision);
    const refused: string[] = [];
    for (const node of changed) {
      const plan = fresh.get(node) ?? published.get(node)!.plan;
      let signed: Signed;
      let issuedAt: number;
      const te = performance.now();
      try {
        issuedAt = Date.now();
        signed = signer.sign(node, state.revision, plan, issuedAt);
      } catch (e) {
        // Over the size agents accept, or a plan the schema refuses: this node keeps its last
        // snapshot (tried again on the next change); every other node goes on.
        log.error({ node, revision: state.revision, err: (e as Error).message }, 'snapshot refused; this node keeps the snapshot it has');
        refused.push(node);
        plans.retryLater(node);
        continue;
      } finally {
        encodeMs += performance.now() - te;
      }
      const p: Published = { ...signed, revision: state.revision, issuedAt, plan, expected: encodeExpected({ node, revision: state.revision, hash: signed.hash, issuedAt }) };
      published.set(node, p);
      await pub.snapshot(node, p);
      await pub.expected(node, p);
    }
    for (const node of removed) {
      published.delete(node);
      await clearNode(node, state.revision);
    }
    if (!computedOnce) {
      computedOnce = true;
      for (const node of retainedSeen) if (!known.has(node)) toClear.add(node);
      for (const node of statuses.nodes()) if (staleWithoutHep(node)) toClear.add(node);
    }
    for (const node of [...toClear]) {
      if (known.has(node)) toClear.delete(node);
      else if (!removed.includes(node)) await clearNode(node, state.revision);
    }
    await window.drain();
    const done = changed.filter((n) => !refused.includes(n));
    if (done.length || removed.length) gate?.published(state.revision);
    notify('stateComputed', { revision: state.revision, durationMs: performance.now() - t0, nodesChanged: done.length + removed.length, nodes: known.size });
    if (done.length || removed.length) log.info({ revision: state.revision, published: done, removed, nodes: known.size, ...(refused.length ? { refused } : {}), ms: { plan: Math.round(planMs), encode: Math.round(encodeMs), total: Math.round(performance.now() - t0) } }, 'snapshots published');
  };

  /** A node's plan at the state being computed, for the policy tests (undefined: no HEP, or it cannot be computed). */
  const planAt = (node: string, fresh: ReadonlyMap<string, NodePlan>): NodePlan | undefined => {
    if (!plans.known.has(node)) return undefined;
    // Not recomputed: unchanged since published (a node held back by failing tests is always recomputed).
    const f = fresh.get(node) ?? published.get(node)?.plan;
    if (f) return f;
    try {
      return plans.plan(node).plan;
    } catch {
      return undefined;
    }
  };

  const compute = async () => {
    computing = true;
    try {
      await computeAndPublish();
    } catch (e) {
      log.error({ err: (e as Error).stack ?? String(e) }, 'cannot compute the snapshots; what was published stays in force until the next change');
    } finally {
      computing = false;
    }
  };

  const staleWithoutHep = (node: string) => statuses.staleWithoutHep(node, plans, published);

  const coalescer = new Coalescer(compute, opts.quietMs ?? 20, opts.maxWaitMs ?? 250);

  const resigner = new Resigner({ published, signer, publisher: pub, window, canRun: () => link.connected && !pub.syncing, log, intervalMs: opts.resignIntervalMs ?? 3_600_000 });

  const replays = new ReplayGuard(async (nodes) => {
    for (const node of nodes) {
      const p = published.get(node);
      if (p) await pub.snapshot(node, p);
    }
  }, log);

  link.onMessage((topic, payload, retained) => {
    const t = nodeFromTopic(prefix, topic);
    if (t?.kind === 'status') {
      if (!statuses.note(t.node, payload)) return;
      if (computedOnce && staleWithoutHep(t.node)) {
        toClear.add(t.node);
        coalescer.trigger();
      }
      return;
    }
    if (t?.kind !== 'snapshot') return;
    reader.note(t.node, payload, retained);
    const mine = published.get(t.node);
    if (mine && !reader.touched(t.node) && !acceptable(t.node, payload, mine, publicKey)) replays.foreign(t.node, payload.length);
    if (payload.length === 0) return;
    if (reader.scanning) {
      // Only our own signature counts: anyone else could push the revisions to the end of the range.
      const d = decodeSnapshot(payload, { publicKey, node: t.node });
      if (d.ok) reader.count(BigInt(d.snapshot.revision));
    }
    if (!retained) return;
    retainedSeen.add(t.node);
    if (computedOnce && !plans.known.has(t.node)) {
      toClear.add(t.node);
      coalescer.trigger();
    }
  });

  const audits = auditSchedule({
    link,
    reader,
    publishedNodes: () => published.keys(),
    replays,
    busy: () => pub.syncing || reader.reading || computing || window.outstanding > 0 || resigner.running,
    intervalMs: opts.auditIntervalMs ?? 2000,
    quietMs: opts.retainedQuietMs ?? 300,
    log,
  });

  const onConnected = () => {
    log.info('connected to broker; republishing every snapshot');
    void (async () => {
      // Agents' statuses stay subscribed; the snapshot topics only while reading (no echo).
      if (canUnsubscribe) await link.subscribe([statusWildcard(prefix)], 1).catch((e: Error) => log.warn({ err: e.message }, 'subscribe failed'));
      if (floor.raisable) {
        pub.syncing = true;
        let raised = false;
        try {
          if (!canUnsubscribe) await link.subscribe([statusWildcard(prefix)], 1);
          raised = await floor.syncFromRetained(reader, opts.retainedQuietMs ?? 300, opts.retainedMaxMs ?? 3000, () => latest?.revision);
        } catch (e) {
          log.warn({ err: (e as Error).message }, 'subscribe failed');
        } finally {
          pub.syncing = false;
        }
        await heldBack.flush(true);
        await gate?.flush(true);
        if (raised) {
          forceAll = true;
          coalescer.trigger();
          audits.schedule(audits.minMs);
          return;
        }
      }
      if (!floor.raisable) {
        await heldBack.flush(true);
        await gate?.flush(true);
      }
      for (const [node, p] of published) {
        await pub.snapshot(node, p);
        await pub.expected(node, p);
      }
      await window.drain();
      if (!canUnsubscribe && !floor.raisable) await link.subscribe([snapshotWildcard(prefix), statusWildcard(prefix)], 1).catch((e: Error) => log.warn({ err: e.message }, 'subscribe failed'));
      // The etcd relay has not read the retained snapshots yet (left-over nodes to clear): at once.
      audits.schedule(floor.raisable ? audits.minMs : 0);
      if (toClear.size) coalescer.trigger();
    })();
  };
  link.onConnect(() => {
    notify('brokerConnected');
    onConnected();
  });
  // Connected before we were listening: the work of a connect is still due.
  if (link.connected) {
    notify('brokerConnected');
    onConnected();
  }
  link.onState((s) => {
    if (s.connected) return;
    log.warn({ err: s.error, retryInMs: s.retryInMs }, 'broker unreachable; will republish on reconnect');
    notify('brokerDisconnected', s.error === undefined ? {} : { error: s.error });
  });
  const datastoreHealth = (up: boolean, error?: string) => {
    if (up === datastoreUp) return;
    datastoreUp = up;
    if (up) notify('datastoreConnected');
    else notify('datastoreDisconnected', { error: error ?? 'unreachable' });
  };

  await source.start({
    onState: (s) => {
      latest = s;
      datastoreHealth(true);
      coalescer.trigger();
    },
    onConnection: (up, error) => datastoreHealth(up, error),
    onHeldBack: (items) => heldBack.update(items),
    onError: (message, resource) => log.error(resource ? { source: resource.source, kind: resource.kind, name: resource.name, path: resource.path } : {}, message),
    onWarning: (message, resource) => log.warn(resource ? { source: resource.source, kind: resource.kind, name: resource.name, path: resource.path } : {}, message),
  });

  return {
    health: () => ({ datastoreSynced: latest !== undefined && datastoreUp, brokerConnected: link.connected }),
    idle: async () => {
      await coalescer.idle();
      await window.drain();
    },
    stop: async () => {
      resigner.stop();
      replays.stop();
      audits.stop();
      coalescer.stop();
      await coalescer.idle();
      await window.drain();
      await source.stop();
    },
  };
}
