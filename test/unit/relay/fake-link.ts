/**
 * An in-memory MQTT broker and links to it, enough for the relay: retained messages (an empty
 * retained payload clears), `+` wildcards, retained delivery on subscribe (after SUBACK, as
 * Mosquitto does), connect and disconnect.
 */
import type { LinkState, MqttLink } from '../../../src/mqtt/client.ts';

const matches = (filter: string, topic: string) => {
  const f = filter.split('/');
  const t = topic.split('/');
  return f.length === t.length && f.every((l, i) => l === '+' || l === t[i]);
};

export class FakeBroker {
  readonly retained = new Map<string, Uint8Array>();
  readonly links = new Set<FakeLink>();
  /** Every publication, in order. */
  readonly log: { topic: string; payload: Uint8Array; retain: boolean }[] = [];

  deliver(topic: string, payload: Uint8Array, retain: boolean): void {
    this.log.push({ topic, payload, retain });
    if (retain) {
      if (payload.length === 0) this.retained.delete(topic);
      else this.retained.set(topic, payload);
    }
    for (const l of this.links) if (l.connected && l.filters.some((f) => matches(f, topic))) l.receive(topic, payload, false);
  }

  link(): FakeLink {
    const l = new FakeLink(this);
    this.links.add(l);
    return l;
  }
}

export class FakeLink implements MqttLink {
  connected = false;
  filters: string[] = [];
  private readonly connectCbs: ((s: boolean) => void)[] = [];
  private readonly messageCbs: ((t: string, p: Uint8Array, r: boolean) => void)[] = [];
  private readonly stateCbs: ((s: LinkState) => void)[] = [];

  constructor(private readonly broker: FakeBroker) {}

  connect(): void {
    this.connected = true;
    this.filters = [];
    this.stateCbs.forEach((cb) => cb({ connected: true }));
    this.connectCbs.forEach((cb) => cb(false));
  }

  disconnect(): void {
    this.connected = false;
    this.stateCbs.forEach((cb) => cb({ connected: false, error: 'test' }));
  }

  receive(topic: string, payload: Uint8Array, retained: boolean): void {
    this.messageCbs.forEach((cb) => cb(topic, payload, retained));
  }

  onConnect(cb: (s: boolean) => void): void {
    this.connectCbs.push(cb);
  }
  onMessage(cb: (t: string, p: Uint8Array, r: boolean) => void): void {
    this.messageCbs.push(cb);
  }
  onState(cb: (s: LinkState) => void): void {
    this.stateCbs.push(cb);
  }
  async publish(topic: string, payload: Uint8Array | string, opts: { retain: boolean; qos: 0 | 1 }): Promise<void> {
    if (!this.connected) throw new Error('not connected');
    this.broker.deliver(topic, typeof payload === 'string' ? new TextEncoder().encode(payload) : payload, opts.retain);
  }
  async subscribe(topics: readonly string[]): Promise<void> {
    if (!this.connected) throw new Error('not connected');
    this.filters.push(...topics);
    const hits = [...this.broker.retained].filter(([t]) => topics.some((f) => matches(f, t)));
    setTimeout(() => hits.forEach(([t, p]) => this.receive(t, p, true)), 5);
  }
  async close(): Promise<void> {
    this.disconnect();
    this.broker.links.delete(this);
  }
}

/** Polls `cond` every 10 ms; throws naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}
