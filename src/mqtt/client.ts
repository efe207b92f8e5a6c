/**
 * The one module that speaks MQTT as a client (MQTT.js). It owns reconnecting: capped
 * exponential backoff with full jitter, so a site's agents do not all hammer a broker that just
 * came back at the same instant. Callers get a small surface: publish, subscribe, and hooks for
 * every (re)connect and every message. Nothing here throws at the caller for network trouble;
 * it is reported through `onState` and retried.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Will {
  readonly topic: string;
  readonly payload: Uint8Array | string;
  readonly retain: boolean;
  readonly qos: 0 | 1;
}

export interface LinkOptions {
  readonly url: string;
  readonly clientId: string;
  /** false: the broker keeps our subscriptions and queues QoS 1 messages while we are away. */
  readonly clean: boolean;
  readonly will?: Will;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly connectTimeoutMs?: number;
  readonly keepaliveSec?: number;
  /**
   * Awaited (at most 10 s) before every reconnect attempt, e.g. to re-resolve the broker's name
   * and open the firewall for its new addresses before connecting to them.
   */
  readonly beforeReconnect?: () => Promise<void>;
}

export type LinkState = { readonly connected: true } | { readonly connected: false; readonly error?: string; readonly retryInMs?: number };

export interface MqttLink {
  readonly connected: boolean;
  /** Runs on every successful (re)connect; `sessionPresent` tells whether the broker kept our session. */
  onConnect(cb: (sessionPresent: boolean) => void): void;
  onMessage(cb: (topic: string, payload: Uint8Array, retained: boolean) => void): void;
  onState(cb: (s: LinkState) => void): void;
  publish(topic: string, payload: Uint8Array | string, opts: { retain: boolean; qos: 0 | 1 }): Promise<void>;
  subscribe(topics: readonly string[], qos: 0 | 1): Promise<void>;
  /** Closes the connection; `graceful` sends DISCONNECT (no last will), otherwise the will fires. */
  close(graceful?: boolean): Promise<void>;
}

/** Full jitter: a uniform delay between 0 and the capped exponential step. */
export function backoffDelay(attempt: number, b: { initialMs: number; maxMs: number }, random: () => number = Math.random): number {
  const cap = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(b.initialMs / 2 + random() * (cap - b.initialMs / 2));
}

export function connectMqtt(opts: LinkOptions): MqttLink {
  const backoff = opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
  const options: IClientOptions = {
    clientId: opts.clientId,
    clean: opts.clean,
    protocolVersion: 4,
    // Reconnects are ours (backoff with jitter); MQTT.js's fixed period would synchronise hosts.
    reconnectPeriod: 0,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
    keepalive: opts.keepaliveSec ?? 15,
    // MQTT.js's write cache pre-builds a buffer for every 16-bit number (packet ids, lengths):
    // about 5 MiB resident in every agent, for a speed-up that a few messages per change never need.
    writeCache: false,
    ...(opts.will ? { will: { topic: opts.will.topic, payload: Buffer.from(opts.will.payload), retain: opts.will.retain, qos: opts.will.qos } } : {}),
  };
  const connectCbs: ((sp: boolean) => void)[] = [];
  const messageCbs: ((t: string, p: Uint8Array, r: boolean) => void)[] = [];
  const stateCbs: ((s: LinkState) => void)[] = [];
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closing = false;
  let lastError: string | undefined;

  // Parsed here (WHATWG URL): handing MQTT.js a string makes it call the deprecated url.parse,
  // which prints a warning line into our JSON log stream.
  const u = new URL(opts.url);
  const protocol = u.protocol.replace(/:$/, '') as 'mqtt' | 'mqtts' | 'tcp' | 'ws' | 'wss';
  const client: MqttClient = mqtt.connect({
    ...options,
    protocol,
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    ...(u.port ? { port: Number(u.port) } : {}),
    ...(u.pathname && u.pathname !== '/' ? { path: u.pathname } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {}),
  });
  client.on('connect', (ack) => {
    attempt = 0;
    lastError = undefined;
    stateCbs.forEach((cb) => cb({ connected: true }));
    connectCbs.forEach((cb) => cb(ack.sessionPresent));
  });
  client.on('message', (topic, payload, packet) => {
    messageCbs.forEach((cb) => cb(topic, new Uint8Array(payload), packet.retain));
  });
  client.on('error', (e) => {
    lastError = e.message;
  });
  client.on('close', () => {
    if (closing) return;
    const delay = backoffDelay(attempt++, backoff);
    stateCbs.forEach((cb) => cb({ connected: false, ...(lastError ? { error: lastError } : {}), retryInMs: delay }));
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void (async () => {
        if (opts.beforeReconnect) {
          let cap: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([opts.beforeReconnect().catch(() => undefined), new Promise((r) => (cap = setTimeout(r, 10_000)))]);
          clearTimeout(cap);
        }
        if (!closing) client.reconnect();
      })();
    }, delay);
  });

  return {
    get connected() {
      return client.connected;
    },
    onConnect: (cb) => void connectCbs.push(cb),
    onMessage: (cb) => void messageCbs.push(cb),
    onState: (cb) => void stateCbs.push(cb),
    publish: async (topic, payload, p) => {
      await client.publishAsync(topic, Buffer.from(payload), { retain: p.retain, qos: p.qos });
    },
    subscribe: async (topics, qos) => {
      await client.subscribeAsync([...topics], { qos });
    },
    close: async (graceful = true) => {
      closing = true;
      if (timer) clearTimeout(timer);
      await client.endAsync(!graceful);
    },
  };
}
