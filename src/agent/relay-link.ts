/**
 * A relay-mode agent's MQTT conversation with its broker: how it connects (identity, session,
 * last will), what it subscribes to, how messages are routed, and how it leaves.
 *
 * Apart from relay-mode.ts because none of this decides anything about snapshots: the topics
 * and MQTT options live here, the verdicts (receive, refuse, the state machine) stay there and
 * come in as hooks. Connecting and listening are two steps because relay-mode.ts starts the
 * interfaces reporter in between, and the reporter's connect handler runs before ours.
 */
import type { AgentConfig } from '../config/agent-config.ts';
import { mqttTlsFiles } from '../config/mqtt-tls.ts';
import { connectMqtt, MAX_PACKET_BYTES, type LinkState, type MqttLink } from '../mqtt/client.ts';
import type { Logger } from '../platform/logger.ts';
import { heldBackTopic, snapshotTopic, statusTopic } from '../protocol/topics.ts';

type LinkConfig = Pick<AgentConfig, 'node' | 'topicPrefix' | 'brokerCa' | 'brokerCert' | 'brokerKey'>;

export interface RelayLinkOptions {
  readonly url: string;
  readonly config: LinkConfig;
  /** The offline status naming what is in force now (relay-status.ts): the last will. */
  readonly will: () => Uint8Array;
  readonly beforeReconnect: () => Promise<void>;
  /** A message over the packet limit was skipped unread: `message` says which and why. */
  readonly onOversized: (message: string) => void;
}

export function connectRelayLink(o: RelayLinkOptions): MqttLink {
  const { config } = o;
  const tls = mqttTlsFiles(config);
  return connectMqtt({
    url: o.url,
    clientId: `outpost-agent-${config.node}`,
    // mqtts:// with this node's certificate: its CN is the identity the broker's ACL checks.
    ...(tls ? { tls } : {}),
    clean: false,
    // Built again before every (re)connect: the broker holds the will given at connect time, so it
    // names the revision in force when this connection was made (MQTT cannot change a will
    // without reconnecting; a clean stop publishes the current one instead).
    will: () => ({ topic: statusTopic(config.topicPrefix, config.node), payload: o.will(), retain: true, qos: 1 }),
    // The broker may have moved while we were cut off: resolve before every attempt, not only after a success.
    beforeReconnect: o.beforeReconnect,
    onOversized: (m) => o.onOversized(`a ${m.bytes}-byte message on ${m.topic.slice(0, 200)} is over the ${MAX_PACKET_BYTES}-byte limit; skipped unread`),
  });
}

export interface RelayLinkHooks {
  /** This node's snapshot; the promise settles once it is handled (the link reads on only then). */
  readonly onSnapshot: (payload: Uint8Array) => Promise<void>;
  /** The relay's held-back list (relay-status.ts). */
  readonly onHeldBack: (payload: Uint8Array) => void;
  /** Connected (again): the retained status is published anew. */
  readonly onConnected: () => void;
  /** Has this agent anything in force (applied, or held from the cache)? Worded into the log. */
  readonly holdsPolicy: () => boolean;
  readonly onLost: () => void;
}

export function listenRelayLink(link: MqttLink, config: LinkConfig & Pick<AgentConfig, 'broker'>, log: Logger, h: RelayLinkHooks): void {
  const own = snapshotTopic(config.topicPrefix, config.node);
  const heldBack = heldBackTopic(config.topicPrefix);
  link.onMessage((topic, payload) => {
    if (topic === heldBack) return void h.onHeldBack(payload);
    if (topic !== own) return;
    // Returned: the MQTT link reads the next message once this one is handled (bounded memory).
    return h.onSnapshot(payload);
  });
  link.onConnect(() => {
    log.info({ broker: config.broker }, 'connected to broker');
    link.subscribe([own], 1).catch((e: Error) => log.warn({ err: e.message }, 'subscribe failed'));
    // What the relay holds back as invalid (status shows it); a broker whose ACL predates it just denies it.
    link.subscribe([heldBack], 1).catch((e: Error) => log.debug({ err: e.message }, 'cannot subscribe to the relay\'s held-back list'));
    h.onConnected();
  });
  link.onState((s: LinkState) => {
    if (s.connected) return;
    if (h.holdsPolicy()) log.warn({ err: s.error, retryInMs: s.retryInMs }, 'broker unreachable; enforcement stays as last applied');
    else log.warn({ err: s.error, retryInMs: s.retryInMs }, 'broker unreachable and no snapshot was ever applied by this agent (nothing cached): outpost enforces no policy on this host yet (no outpost table, or one left by an earlier run); waiting for the relay\'s first snapshot');
    h.onLost();
  });
}

/** How long a clean stop waits for the broker to take the offline status. */
const OFFLINE_PUBLISH_TIMEOUT_MS = 2000;

/** A clean stop is not "offline by accident": say so, then disconnect without the will. */
export async function closeRelayLink(link: MqttLink | undefined, config: LinkConfig, offline: () => Uint8Array): Promise<void> {
  let graceful = true;
  if (link?.connected) {
    // A broker that died a moment ago still looks connected and never acknowledges: a service
    // manager's stop must not wait for it (the last will says "offline" in that case anyway),
    // and a graceful end would wait for that same unacknowledged publish, so it is forced.
    const published = link.publish(statusTopic(config.topicPrefix, config.node), offline(), { retain: true, qos: 1 }).then(() => true, () => false);
    let timer: ReturnType<typeof setTimeout> | undefined;
    graceful = await Promise.race([published, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), OFFLINE_PUBLISH_TIMEOUT_MS)))]);
    clearTimeout(timer);
  }
  await link?.close(graceful);
}
