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
 */
import type { KeyObject } from 'node:crypto';
import type { AgentConfig } from '../config/agent-config.ts';
import type { Logger } from '../platform/logger.ts';
import type { FailsafePlanRule } from '../plan/schema.ts';
import { connectMqtt, type MqttLink } from '../mqtt/client.ts';
import { SnapshotCache } from '../cache/snapshot-cache.ts';
import { decodeSnapshot, revisionVerdict, type RefusalReason, type Snapshot } from '../protocol/snapshot.ts';
import { snapshotTopic, statusTopic } from '../protocol/topics.ts';
import { encodeStatus, lastWillPayload, type StatusState } from '../protocol/status.ts';
import type { Enforcer } from './enforcer.ts';
import { renderForHost } from './host-ruleset.ts';
import { readHostInterfaces, watchInterfaces, type InterfaceWatch } from './host-interfaces.ts';
import { brokerFailsafes } from './broker-path.ts';
import type { RunningAgent } from './agent.ts';

type RelayConfig = AgentConfig & { broker: string; trustKey: string };

export async function startRelayMode(config: RelayConfig, log: Logger, enforcer: Enforcer, trustKey: KeyObject): Promise<RunningAgent> {
  const node = config.node;
  let cache: SnapshotCache | undefined;
  try {
    cache = SnapshotCache.open(config.state, { log: (m: string) => log.error(m) });
  } catch (e) {
    // Still enforce what the relay sends; only the offline start is lost. Said loudly.
    log.error({ err: (e as Error).message }, 'cannot open the snapshot cache; running without one (no enforcement from cache after a restart)');
  }
  const refused: Partial<Record<RefusalReason, number>> = {};
  let held: Snapshot | undefined;
  let state: StatusState = 'cached';
  let lastError: string | undefined;
  let since = new Date();
  let brokerPath: FailsafePlanRule[] = [];
  let ifaces: InterfaceWatch | undefined;
  let link: MqttLink | undefined;

  const publishStatus = () => {
    if (!link?.connected) return;
    const payload = encodeStatus({ node, state, revision: held?.revision, hash: held?.hash, lastError, refused, since });
    link.publish(statusTopic(config.topicPrefix, node), payload, { retain: true, qos: 1 }).catch((e: Error) => log.warn({ err: e.message }, 'cannot publish status'));
  };
  const setState = (next: StatusState, error?: string) => {
    if (next !== state) since = new Date();
    state = next;
    lastError = error ?? (next === 'error' ? lastError : undefined);
    publishStatus();
  };

  const apply = async (why: string): Promise<boolean> => {
    if (!held) return false;
    const { rendered, plan } = renderForHost(held.plan, config, ifaces?.current ?? readHostInterfaces(), { outbound: brokerPath });
    const ok = await enforcer.enforce(rendered);
    if (ok) log.info({ node, revision: held.revision, hash: held.hash, endpoints: plan.endpoints.length, policies: plan.policies.length, from: why }, 'ruleset in force');
    return ok;
  };
  enforcer.onOutcome((r) => {
    if (!r.ok) setState('error', r.error);
    else if (state === 'error') setState(link?.connected ? 'in-sync' : 'cached');
  });

  const refuse = (reason: RefusalReason, message: string) => {
    refused[reason] = (refused[reason] ?? 0) + 1;
    lastError = `${reason}: ${message}`;
    log.warn({ node, reason, count: refused[reason] }, `snapshot refused (${reason}): ${message}; the state in force is kept`);
    publishStatus();
  };

  const receive = async (payload: Uint8Array) => {
    if (payload.length === 0) {
      // The relay cleared our retained snapshot (the node lost its last HEP). Unsigned, so it
      // cannot change enforcement; the signed tombstone that preceded it already did.
      log.info({ node }, 'retained snapshot cleared by the relay');
      return;
    }
    const r = decodeSnapshot(payload, { publicKey: trustKey, node });
    if (!r.ok) return refuse(r.reason, r.message);
    const snap = r.snapshot;
    const verdict = revisionVerdict(held, snap);
    if (verdict === 'stale') return refuse('stale', `revision ${snap.revision} is older than ${held?.revision}, which is in force`);
    if (verdict === 'unchanged') {
      if (state === 'cached') setState('in-sync');
      return;
    }
    try {
      cache?.save(node, { revision: snap.revision, hash: snap.hash, payload });
    } catch (e) {
      // Not storable means not durable: apply anyway (the relay said so), but report it.
      log.error({ err: (e as Error).message }, 'cannot store snapshot in the cache');
    }
    held = snap;
    const ok = await apply('relay');
    setState(ok ? 'in-sync' : 'error', ok ? undefined : lastError);
  };

  // 1. The cache, before any network.
  const row = cache?.load(node);
  if (row) {
    const r = decodeSnapshot(row.payload, { publicKey: trustKey, node });
    if (r.ok) held = r.snapshot;
    else log.error({ reason: r.reason }, `cached snapshot refused: ${r.message}; waiting for the relay`);
  }
  if (!held) {
    state = 'error';
    lastError = 'no snapshot yet';
  }
  const broker = await brokerFailsafes(config.broker);
  if (broker.error) log.warn(broker.error);
  brokerPath = broker.rules;
  const firstApply = held ? apply('cache') : Promise.resolve(false);
  await firstApply;

  // 2. The network.
  ifaces = watchInterfaces(() => void apply('interfaces'));
  const newLink = connectMqtt({
    url: config.broker,
    clientId: `outpost-agent-${node}`,
    clean: false,
    will: { topic: statusTopic(config.topicPrefix, node), payload: lastWillPayload(node, new Date()), retain: true, qos: 1 },
  });
  link = newLink;
  let queue = Promise.resolve();
  newLink.onMessage((topic, payload) => {
    if (topic !== snapshotTopic(config.topicPrefix, node)) return;
    // One at a time, in arrival order: revision checks compare against what was applied.
    queue = queue.then(() => receive(payload)).catch((e: Error) => log.error({ err: e.message }, 'snapshot handling failed'));
  });
  newLink.onConnect(() => {
    log.info({ broker: config.broker }, 'connected to broker');
    newLink.subscribe([snapshotTopic(config.topicPrefix, node)], 1).catch((e: Error) => log.warn({ err: e.message }, 'subscribe failed'));
    publishStatus();
    if (!brokerPath.length) {
      void brokerFailsafes(config.broker).then((b) => {
        if (!b.rules.length) return;
        brokerPath = b.rules;
        void apply('broker path');
      });
    }
  });
  newLink.onState((s) => {
    if (s.connected) return;
    log.warn({ err: s.error, retryInMs: s.retryInMs }, 'broker unreachable; enforcement stays as last applied');
    if (state === 'in-sync') state = 'cached';
  });

  return {
    firstApply,
    stop: async () => {
      ifaces?.stop();
      await queue;
      // A clean stop is not "offline by accident": say so, then disconnect without the will.
      if (newLink.connected) {
        await newLink.publish(statusTopic(config.topicPrefix, node), lastWillPayload(node, new Date()), { retain: true, qos: 1 }).catch(() => undefined);
      }
      await newLink.close(true);
      enforcer.stop();
      cache?.close();
    },
  };
}
