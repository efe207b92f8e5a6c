/**
 * What goes on the wire for a node: its retained snapshot, its retained `expected` message, and
 * clearing both when it has no HEP any more. Every publication goes through the bounded window
 * (publish-window.ts) and the one gate below, so the relay's other parts (computation,
 * re-signing, replay repair, reconnects) cannot publish around it.
 *
 * A node that lost its last HEP gets a signed snapshot with no endpoints (QoS 1, not retained: a
 * connected or persistent-session agent stops enforcing), then its retained snapshot and
 * expected message are cleared. A node whose clearing did not go out stays in `toClear` and is
 * tried again with the next computation.
 */
import type { MqttLink } from '../mqtt/client.ts';
import type { Logger } from '../platform/logger.ts';
import type { NodePlan } from '../plan/schema.ts';
import { expectedTopic, nodeFromTopic, snapshotTopic } from '../protocol/topics.ts';
import { notifyObservers, type RelayObserver } from './observations.ts';
import type { PublishWindow } from './publish-window.ts';
import type { RetainedReader } from './retained-reader.ts';

/** What the relay last published for a node. */
export interface Published {
  readonly payload: Uint8Array;
  readonly hash: string;
  /** The retained `expected` message for this revision and hash (kept across re-signatures). */
  readonly expected: Uint8Array;
  readonly revision: string;
  readonly issuedAt: number;
  readonly plan: NodePlan;
}

export interface NodePublisherOptions {
  readonly link: MqttLink;
  readonly prefix: string;
  readonly log: Logger;
  readonly window: PublishWindow;
  /** Told which nodes' topics this relay is writing, so an audit reading them meanwhile skips them. */
  readonly reader: RetainedReader;
  readonly observers: readonly RelayObserver[];
}

export class NodePublisher {
  /**
   * No publication while the retained snapshots are read (folder datastore): what the relay would
   * publish then may carry a revision below the broker's.
   */
  syncing: boolean;
  /** Nodes whose retained snapshot must be cleared (removed while offline, or left from before). */
  readonly toClear = new Set<string>();

  constructor(
    private readonly o: NodePublisherOptions,
    syncing: boolean,
  ) {
    this.syncing = syncing;
  }

  /** One QoS 1 publication; false when it did not go out (disconnected, syncing, or refused by the broker). */
  send = async (topic: string, payload: Uint8Array | string, retain: boolean): Promise<boolean> => {
    const { link, log, prefix } = this.o;
    if (!link.connected || this.syncing) return false;
    try {
      await link.publish(topic, payload, { retain, qos: 1 });
      return true;
    } catch (e) {
      log.warn({ topic, err: (e as Error).message }, 'publish failed; everything is republished on reconnect');
      const t = nodeFromTopic(prefix, topic);
      notifyObservers(this.o.observers, log, 'publishFailed', { topic, ...(t ? { node: t.node } : {}), error: (e as Error).message });
      return false;
    }
  };

  /** The node's retained snapshot; resolves once it has room in the window, not when it is acknowledged. */
  snapshot(node: string, p: Published): Promise<void> {
    this.o.reader.touch(node);
    return this.o.window.submit(async () => {
      if (await this.send(snapshotTopic(this.o.prefix, node), p.payload, true)) notifyObservers(this.o.observers, this.o.log, 'snapshotPublished', { node, revision: p.revision, hash: p.hash });
    });
  }

  /** What the node should hold, for `outpost fleet`: one small retained message per changed node. */
  expected(node: string, p: Published): Promise<void> {
    return this.o.window.submit(() => this.send(expectedTopic(this.o.prefix, node), p.expected, true));
  }

  /** `tomb`: the node's signed "no endpoints" snapshot, sent first so a listening agent stops enforcing. */
  async clear(node: string, revision: string, tomb: Uint8Array): Promise<void> {
    const { prefix, log } = this.o;
    this.o.reader.touch(node);
    await this.o.window.submit(async () => {
      if ((await this.send(snapshotTopic(prefix, node), tomb, false)) && (await this.send(snapshotTopic(prefix, node), '', true)) && (await this.send(expectedTopic(prefix, node), '', true))) {
        this.toClear.delete(node);
        log.info({ node, revision }, 'node has no host endpoint any more; retained snapshot cleared');
      } else this.toClear.add(node);
    });
  }
}
