/**
 * Relay mode: the agent enforces signed snapshots that a relay publishes over MQTT.
 *
 * Order at start is the point of the design: open the SQLite cache, verify the last snapshot
 * and apply it, and only then touch the network. Enforcement from cache is the normal path; a
 * broker that is down, or no network at all at boot, changes nothing that is in force.
 *
 * A received snapshot is verified (signature, node, hash, schema), refused if older than the
 * one held, stored (transactionally) and then applied. Every refusal is logged with its reason
 * and counted; the last good state stays. Status goes to a retained topic with a last will of
 * "offline".
 *
 * Air-gapped (bundleDir and no broker): the same, fed only by offline bundles (bundle-drop.ts).
 * No MQTT link, so no broker path in the ruleset, no DNS, no broker probe (commit confirmed
 * watches the configured probes only) and no status topic: the status is logged.
 *
 * This file keeps the state machine and the snapshot path (verify, store, apply, roll back);
 * parts that own state or I/O of their own are beside it: the MQTT conversation (relay-link.ts),
 * the broker's failsafe path (broker-control-path.ts), the stale spell (stale-watch.ts) and the
 * status's extra facts and last will (relay-status.ts).
 */
import type { KeyObject } from 'node:crypto';
import type { AgentConfig } from '../config/agent-config.ts';
import type { Logger } from '../platform/logger.ts';
import type { MqttLink } from '../mqtt/client.ts';
import { StateStore } from './state-store.ts';
import { decodeSnapshot, revisionVerdict, type RefusalReason, type Snapshot } from '../protocol/snapshot.ts';
import { statusTopic } from '../protocol/topics.ts';
import { encodeStatus, type StatusState } from '../protocol/status.ts';
import type { Enforcer } from './enforcer.ts';
import { renderForHost } from './host-ruleset.ts';
import { readHostInterfaces, watchInterfaces, type InterfaceWatch } from './host-interfaces.ts';
import { BrokerControlPath } from './broker-control-path.ts';
import type { RunningAgent } from './agent.ts';
import { CommitConfirm, type Break, type Prepared } from './commit-confirm.ts';
import { brokerProbe, configuredProbes } from './probes.ts';
import { startBundleDrop, type BundleVerdict } from './bundle-drop.ts';
import { firstSnapshotProblem, isRefresh } from './freshness.ts';
import { StaleWatch } from './stale-watch.ts';
import { startInterfaceReporter, type InterfaceReporter } from '../autohep/reporter.ts';
import type { AgentObserver, AgentSource } from './observations.ts';
import { RelayStatusFacts } from './relay-status.ts';
import { closeRelayLink, connectRelayLink, listenRelayLink } from './relay-link.ts';

/** `broker` absent: an air-gapped agent on signed bundles alone (bundleDir). */
type RelayConfig = AgentConfig & { trustKey: readonly string[] };

/**
 * Where a snapshot came from: the relay over MQTT, or an offline bundle (bundle-drop.ts).
 * `explicit` is true only for an operator's `outpost bundle import`: the one source exempt from
 * the snapshot age rule; a drop-folder bundle is not.
 */
export interface SnapshotOrigin {
  readonly from: 'relay' | 'drop' | 'import';
  readonly explicit: boolean;
  readonly file?: string;
}
const FROM_RELAY: SnapshotOrigin = { from: 'relay', explicit: false };

/** `trustKeys`: every key the agent trusts (several during a relay key rotation; matched by keyId). */
export async function startRelayMode(config: RelayConfig, log: Logger, enforcer: Enforcer, trustKeys: readonly KeyObject[], observe: Required<AgentObserver>): Promise<RunningAgent> {
  const node = config.node;
  /** Where the snapshot in force came from (a cached one: from the relay when there is a broker). */
  let heldSource: AgentSource = config.broker !== undefined ? 'relay' : 'bundle';
  const sourceOf = (from: SnapshotOrigin['from']): AgentSource => (from === 'relay' ? 'relay' : 'bundle');
  /** The compact facts the retained status carries besides the state (relay-status.ts). */
  const facts = new RelayStatusFacts({ node, nft: config.nft, log, observe, republish: () => publishStatus() });
  /** Set once a ruleset from a snapshot was put in force by this agent. */
  let everApplied = false;
  const refused: Partial<Record<RefusalReason, number>> = {};
  let held: Snapshot | undefined;
  let state: StatusState = 'cached';
  let lastError: string | undefined;
  let since = new Date();
  let ifaces: InterfaceWatch | undefined;
  let link: MqttLink | undefined;
  /** Faults that are not about a snapshot: an apply that failed, a state dir that cannot be written. */
  const problems: { apply?: string; store?: string; rollback?: string } = {};

  // Freshness (stale-watch.ts): the held snapshot older than maxSnapshotAge means the relay went
  // quiet; it stays in force and the state says 'stale' until a fresh one (or a re-signature) arrives.
  const maxAgeMs = config.maxSnapshotAge ?? 86_400_000;
  const staleness = new StaleWatch({
    node,
    log,
    maxAgeMs,
    degradedPolicy: config.degradedPolicy,
    held: () => held,
    onStale: () => {
      if (state === 'in-sync' || state === 'cached') setState(state);
    },
    onFresh: () => {
      if (state === 'stale') setState(upToDate() ? 'in-sync' : 'cached');
    },
    apply: (why) => apply(why),
    publishStatus: () => publishStatus(),
  });
  let stopped = false;
  const publishStatus = () => {
    if (!link?.connected) return;
    let payload: Uint8Array;
    try {
      payload = encodeStatus({ node, state, revision: held?.revision, hash: held?.hash, issuedAt: held?.issuedAt, staleCount: staleness.count, degraded: staleness.degraded !== undefined, lastError, refused, since, source: heldSource, ...facts.extras });
    } catch (e) {
      // A status that cannot be encoded is a bug to report, never a reason to stop enforcing.
      return void log.error({ err: (e as Error).message }, 'cannot encode the status');
    }
    link.publish(statusTopic(config.topicPrefix, node), payload, { retain: true, qos: 1 }).catch((e: Error) => log.warn({ err: e.message }, 'cannot publish status'));
  };
  /** No broker (air-gapped): a bundle applied is as current as this agent can be. */
  const upToDate = () => config.broker === undefined || link?.connected === true;
  const setState = (wanted: StatusState, error?: string) => {
    const next = staleness.stale && (wanted === 'in-sync' || wanted === 'cached') ? 'stale' : wanted;
    if (next !== state) since = new Date();
    // Without a broker there is no status topic: the status stays local, in the log.
    if (config.broker === undefined && (next !== state || (error !== undefined && error !== lastError))) log.info({ node, state: next, revision: held?.revision, lastError: error }, 'status');
    const changed = next !== state || (next === 'error' && (error ?? lastError) !== lastError);
    state = next;
    lastError = error ?? (next === 'error' ? lastError : undefined);
    if (changed) observe.stateChanged({ state, ...(state === 'error' && lastError !== undefined ? { reason: lastError } : {}), since });
    publishStatus();
  };
  /** After a fault clears: error while any remains, else in-sync or cached as the link says. */
  const settle = () => {
    staleness.check();
    const problem = problems.apply ?? problems.store ?? problems.rollback;
    if (problem !== undefined) setState('error', problem);
    else if (state === 'error' && held) setState(upToDate() ? 'in-sync' : 'cached');
  };

  const store = new StateStore(config.state, log, (problem) => {
    if (problem === undefined) delete problems.store;
    else problems.store = problem;
    settle();
  });
  store.openForBoot();

  // The control path (broker-control-path.ts): broker addresses (literal, or last resolved and
  // cached), DNS when the broker is a name, neighbour discovery when any of it is IPv6.
  // No broker (air-gapped): no control path to keep open.
  const path = new BrokerControlPath(config.broker, config.resolvers, store, log);
  const target = path.target;

  let lastUnnameable = '';

  // Commit confirmed (commit-confirm.ts): a new revision that breaks a probe which passed before
  // it was applied (the broker link always, plus the configured probes) is rolled back to the
  // ruleset in force before it, and that revision is not applied again until a newer one arrives.
  type Held = { readonly snap: Snapshot; readonly payload: Uint8Array | undefined };
  const windowMs = config.confirmWindowMs ?? 60_000;
  const probes = [...(target ? [brokerProbe(() => link?.connected === true, () => path.addrs.map((addr) => ({ addr, port: target.port })), 1000)] : []), ...configuredProbes(config.probes ?? [])];
  const confirm = new CommitConfirm<Held>(() => probes, { windowMs });
  let rolledBack: { readonly revision: string; readonly hash: string } | undefined;
  /** What is in force now, with its signed bytes from the cache (to put them back on a rollback). */
  const inForceNow = (): Held | undefined => {
    if (!held) return undefined;
    const row = store.reader?.load(node);
    return { snap: held, payload: row?.hash === held.hash ? row.payload : undefined };
  };
  const rollBack = async (b: Break<Held>, bad: Snapshot) => {
    // A newer revision was applied meanwhile: it inherited this window and is watched itself.
    if (held?.hash !== bad.hash) return;
    const failed = b.failed.join(', ');
    rolledBack = { revision: bad.revision, hash: bad.hash };
    if (!b.restoreTo) {
      // Nothing was in force before it: removing the firewall is not a fix (fail closed), so it stays.
      problems.rollback = `revision ${bad.revision}: ${failed} failed within ${windowMs} ms after it was applied; no earlier ruleset to restore, so it stays in force`;
      log.error({ node, revision: bad.revision, failed: b.failed }, problems.rollback);
      return settle();
    }
    const prev = b.restoreTo;
    problems.rollback = `rolled back revision ${bad.revision} to ${prev.snap.revision}: ${failed} passed before it was applied and failed within ${windowMs} ms after`;
    log.error({ node, revision: bad.revision, restored: prev.snap.revision, failed: b.failed }, problems.rollback);
    held = prev.snap;
    // The cache follows the kernel, so a restart does not boot into the ruleset that cut us off.
    if (prev.payload) store.write('snapshot', (c) => c.save(node, { revision: prev.snap.revision, hash: prev.snap.hash, payload: prev.payload! }));
    else log.warn({ node, revision: prev.snap.revision }, 'the restored revision is not in the state dir; a restart enforces the rolled-back one from the cache until the relay sends a newer one');
    await apply('rollback');
    settle();
  };
  const watchApplied = (snap: Snapshot, prepared: Prepared<Held>) => {
    if (!confirm.enabled) return;
    const names = Object.keys(prepared.baseline);
    log.info({ node, revision: snap.revision, windowMs, watching: names.filter((n) => prepared.baseline[n]), alreadyFailing: names.filter((n) => !prepared.baseline[n]) }, 'new revision on probation');
    confirm.start(
      snap.revision,
      prepared,
      (b) => {
        queue = queue.then(() => rollBack(b, snap)).catch((e: Error) => log.error({ err: e.message }, 'rollback failed'));
      },
      (revision) => log.info({ node, revision }, 'revision confirmed: every probe that passed before it still passes'),
    );
  };
  /** `ms`: the receive path's own steps so far (decode, store), logged with render and enforce. */
  const apply = async (why: string, ms?: { decode: number; store: number }): Promise<boolean> => {
    if (!held) return false;
    const t0 = performance.now();
    const { rendered, plan, dispatch } = renderForHost(staleness.degraded ?? held.plan, config, ifaces?.current ?? readHostInterfaces(), path.always());
    observe.rendered({ plan, dispatch, at: new Date() });
    facts.rendered(plan, held.revision);
    const t1 = performance.now();
    const odd = rendered.unnameable.join('\n');
    if (odd !== lastUnnameable) rendered.unnameable.forEach((u) => log.warn({ node }, `interface not governed by name: ${u}`));
    lastUnnameable = odd;
    const ruleset = path.complete(rendered);
    applying = true;
    let ok: boolean;
    try {
      ok = await enforcer.enforce(ruleset);
    } finally {
      applying = false;
    }
    const at = new Date();
    const durationMs = performance.now() - t0;
    observe.applied({ revision: held.revision, hash: held.hash, source: heldSource, why, durationMs, ok, ...(ok ? {} : { error: problems.apply ?? 'nft failed' }), at });
    if (ok) {
      everApplied = true;
      facts.applied(plan, dispatch, at, durationMs);
    }
    // Where a change's time went on this host (the benchmarks read it; whole tenths of a ms).
    const steps = { ...ms, render: t1 - t0, enforce: performance.now() - t1 };
    const tenths = Object.fromEntries(Object.entries(steps).map(([k, x]) => [k, Math.round(x * 10) / 10]));
    if (ok) log.info({ node, revision: held.revision, hash: held.hash, endpoints: plan.endpoints.length, policies: plan.policies.length, from: why, ms: tenths, ...(staleness.degraded ? { degraded: true } : {}) }, 'ruleset in force');
    return ok;
  };
  let applying = false;
  enforcer.onOutcome((r) => {
    if (!r.ok) problems.apply = r.error;
    else delete problems.apply;
    // The enforcer's own retries and repairs (drift, audit) are applies too; apply() reports its own.
    if (!applying && held) observe.applied({ revision: held.revision, hash: held.hash, source: heldSource, why: 'retry', durationMs: r.ms, ok: r.ok, ...(r.ok ? {} : { error: r.error }), at: new Date() });
    settle();
  });

  /** Resolves the broker name again; re-applies when the set of addresses changed. */
  const refreshBrokerPath = async (why: string) => {
    if (await path.refresh(why)) await apply('broker path');
  };

  const refuse = (reason: RefusalReason, message: string, origin: SnapshotOrigin = FROM_RELAY): BundleVerdict => {
    refused[reason] = (refused[reason] ?? 0) + 1;
    lastError = `${reason}: ${message}`;
    observe.refused({ reason, message, at: new Date() });
    log.warn({ node, reason, count: refused[reason], from: origin.from, ...(origin.file ? { file: origin.file } : {}) }, `snapshot refused (${reason}): ${message}; the state in force is kept`);
    publishStatus();
    return { ok: false, message: `refused (${reason}): ${message}` };
  };

  const receive = async (payload: Uint8Array, origin: SnapshotOrigin = FROM_RELAY): Promise<BundleVerdict> => {
    if (payload.length === 0 && origin.from !== 'relay') return refuse('malformed', 'the bundle file is empty', origin);
    if (payload.length === 0) {
      // The relay cleared our retained snapshot (the node lost its last HEP). Unsigned, so it
      // cannot change enforcement; the signed tombstone that preceded it already did.
      log.info({ node }, 'retained snapshot cleared by the relay');
      return { ok: true, message: 'cleared' };
    }
    // The held snapshot lets a few changed set members be decoded without the rest (plan-splice.ts).
    const t0 = performance.now();
    const r = decodeSnapshot(payload, { publicKey: trustKeys, node, ...(held ? { previous: held } : {}) });
    const decodeMs = performance.now() - t0;
    if (!r.ok) return refuse(r.reason, r.message, origin);
    const snap = r.snapshot;
    // Nothing held, so no revision to compare with: only the age stops a replayed old snapshot.
    // An operator's explicit bundle import is exempt (the operator vouches for it).
    const tooOld = held || origin.explicit ? undefined : firstSnapshotProblem(Date.now(), snap.issuedAt, maxAgeMs);
    if (tooOld !== undefined) return refuse('expired', tooOld, origin);
    const verdict = revisionVerdict(held, snap);
    if (verdict === 'stale') return refuse('stale', `revision ${snap.revision} is older than ${held?.revision}, which is in force`, origin);
    if (verdict === 'unchanged') {
      if (held && isRefresh(held, snap)) {
        // The relay's re-signature: nft untouched; the cache keeps the newer bytes so a restart
        // knows how fresh the state is.
        store.write('snapshot', (c) => c.save(node, { revision: snap.revision, hash: snap.hash, payload }));
        held = snap;
        staleness.check();
      }
      if (origin.from === 'relay') observe.synced({ revision: snap.revision, hash: snap.hash, at: new Date() });
      if ((state === 'cached' || state === 'stale') && origin.from === 'relay') setState('in-sync');
      return { ok: true, message: `revision ${snap.revision} (${snap.hash}) is already in force` };
    }
    // Not storable means not durable: applied anyway (the relay said so); the store reports the
    // failure (status error) and retries until the snapshot is on disk.
    if (rolledBack?.revision === snap.revision && rolledBack.hash === snap.hash) {
      return refuse('stale', `revision ${snap.revision} was rolled back (${problems.rollback ?? 'a probe failed after it was applied'}); it is applied again only when a newer revision arrives`);
    }
    // Without commit confirmed nothing is ever restored: no need to read the cached bytes back.
    const prepared = await confirm.prepare(confirm.enabled ? inForceNow() : undefined);
    delete problems.rollback;
    const t1 = performance.now();
    store.write('snapshot', (c) => c.save(node, { revision: snap.revision, hash: snap.hash, payload }));
    const storeMs = performance.now() - t1;
    observe.snapshotReceived({ revision: snap.revision, hash: snap.hash, ...(snap.issuedAt !== undefined ? { issuedAt: snap.issuedAt } : {}), source: sourceOf(origin.from), at: new Date() });
    held = snap;
    heldSource = sourceOf(origin.from);
    staleness.check();
    const ok = await apply(origin.from, { decode: decodeMs, store: storeMs });
    if (ok && problems.apply === undefined && problems.store === undefined) setState('in-sync');
    else settle();
    if (ok) watchApplied(snap, prepared);
    // Outside the message queue: the reconnect must not wait on the handler that asked for it.
    if (ok) setTimeout(() => stopped || facts.renewWillIfBlank(held, link), 0);
    return ok ? { ok: true, message: `revision ${snap.revision} (${snap.hash}) applied` } : { ok: false, message: `revision ${snap.revision} stored but not applied: ${problems.apply ?? 'nft failed'}` };
  };

  // 1. The cache, before any network.
  const row = store.reader?.load(node);
  if (row) {
    const r = decodeSnapshot(row.payload, { publicKey: trustKeys, node });
    if (r.ok) held = r.snapshot;
    else log.error({ reason: r.reason }, `cached snapshot refused: ${r.message}; waiting for the relay`);
  }
  if (!held) {
    state = 'error';
    lastError = 'no snapshot yet';
  }
  observe.stateChanged({ state, ...(lastError !== undefined ? { reason: lastError } : {}), since });
  const firstApply = held ? apply('cache') : Promise.resolve(false);
  await firstApply;
  staleness.check();
  // Only now the network: the name, then the broker.
  await refreshBrokerPath('start');

  // 2. The network.
  let reporter: InterfaceReporter | undefined;
  ifaces = watchInterfaces(() => {
    void apply('interfaces');
    reporter?.refresh();
  });
  // The MQTT conversation itself (relay-link.ts): connect options and last will here, handlers below.
  const newLink = !target ? undefined : connectRelayLink({
    url: target.url,
    config,
    will: () => facts.will(new Date(), held, heldSource),
    beforeReconnect: () => refreshBrokerPath('reconnect'),
    onOversized: (message) => void refuse('malformed', message),
  });
  link = newLink;
  // autoHostEndpoint: the interfaces report the relay turns into <node>-auto-hep (src/autohep).
  if (newLink && config.autoHostEndpoint) reporter = startInterfaceReporter({ link: newLink, topicPrefix: config.topicPrefix, node, labels: config.autoHostEndpointLabels ?? {}, exclude: config.autoHostEndpointExclude ?? [], log });
  if (!newLink) log.info({ node, bundleDir: config.bundleDir }, 'no broker: air-gapped agent, policy from signed offline bundles only; status in this log');
  let queue = Promise.resolve();
  // Offline bundles (drop folder, `outpost bundle import`) go through the same queue and checks.
  const bundles = startBundleDrop({
    node,
    state: config.state,
    log,
    ...(config.bundleDir !== undefined ? { dir: config.bundleDir } : {}),
    handle: (payload, o) => {
      const done = queue.then(() => receive(payload, { from: o.kind, explicit: o.explicit, file: o.file }));
      queue = done.then(() => undefined).catch((e: Error) => log.error({ err: e.message }, 'bundle handling failed'));
      return done.catch((e: Error) => ({ ok: false, message: `bundle handling failed: ${e.message}` }));
    },
  });
  if (newLink) {
    listenRelayLink(newLink, config, log, {
      onHeldBack: (payload) => facts.heardHeldBack(payload),
      onSnapshot: (payload) => {
        // One at a time, in arrival order: revision checks compare against what was applied.
        queue = queue.then(() => receive(payload)).then(() => undefined).catch((e: Error) => log.error({ err: e.message }, 'snapshot handling failed'));
        return queue;
      },
      onConnected: () => publishStatus(),
      holdsPolicy: () => everApplied || held !== undefined,
      onLost: () => {
        if (state === 'in-sync') setState('cached');
      },
    });
  }

  return {
    firstApply,
    stop: async () => {
      ifaces?.stop();
      facts.stop();
      reporter?.stop();
      confirm.cancel();
      stopped = true;
      staleness.stop();
      await bundles.stop();
      await queue;
      // A clean stop is not "offline by accident": say so, then disconnect without the will.
      await closeRelayLink(newLink, config, () => facts.offline(new Date(), held, heldSource));
      enforcer.stop();
      store.stop();
    },
  };
}
