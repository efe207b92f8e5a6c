/**
 * The one module that speaks MQTT as a client (MQTT.js). It owns reconnecting: capped
 * exponential backoff with full jitter, so a site's agents do not all hammer a broker that just
 * came back at the same instant. Callers get a small surface: publish, subscribe, and hooks for
 * every (re)connect and every message. Nothing here throws at the caller for network trouble;
 * it is reported through `onState` and retried.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { readFileSync, statSync } from 'node:fs';
import { privateModeProblem } from '../platform/private-file.ts';
import { backoffStep } from '../platform/backoff.ts';
import { guardClient, type Oversized } from './packet-guard.ts';
import { MAX_SNAPSHOT_BYTES } from '../protocol/snapshot.ts';

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
  /** A function is called again before every reconnect, so the will can follow what changed. */
  readonly will?: Will | (() => Will);
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly connectTimeoutMs?: number;
  readonly keepaliveSec?: number;
  /**
   * Awaited (at most 10 s) before every reconnect attempt, e.g. to re-resolve the broker's name
   * and open the firewall for its new addresses before connecting to them.
   */
  readonly beforeReconnect?: () => Promise<void>;
  /**
   * Incoming packets over this size are never buffered (packet-guard.ts): an oversized publish
   * is skipped as it streams by (QoS 1 acknowledged) and reported through onOversized.
   * Default MAX_PACKET_BYTES.
   */
  readonly maxPacketBytes?: number;
  readonly onOversized?: (o: Oversized) => void;
  /**
   * mqtts:// with a client certificate (PEM files). Read again before every reconnect, so a
   * renewed certificate is used without a restart.
   */
  readonly tls?: TlsFiles;
}

export interface TlsFiles {
  /** The CA that signed the broker's certificate (and, for mTLS, ours). */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /**
   * false only for the relay's link to its own embedded broker: it dials the address it listens
   * on (0.0.0.0 included), which the certificate need not name. The CA is checked regardless.
   */
  readonly checkHostname?: boolean;
}

/** TLS connect options from the files; throws (with the path) when one cannot be read. */
export function tlsOptions(t: TlsFiles): Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> & { checkServerIdentity?: () => undefined } {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`cannot read the MQTT TLS ${what} ${path}: ${(e as Error).message}`);
    }
  };
  // A key others can read is already out: refused (and retried, so a chmod fixes it without a restart).
  let mode;
  try {
    mode = statSync(t.key).mode;
  } catch (e) {
    throw new Error(`cannot read the MQTT TLS key ${t.key}: ${(e as Error).message}`);
  }
  const loose = privateModeProblem(t.key, mode);
  if (loose) throw new Error(loose);
  return {
    ca: read('CA', t.ca),
    cert: read('certificate', t.cert),
    key: read('key', t.key),
    rejectUnauthorized: true,
    ...(t.checkHostname === false ? { checkServerIdentity: () => undefined } : {}),
  };
}

/** Longest a message handler holds up reading the next message (keepalive replies queue behind it). */
const HANDLER_WAIT_MS = 2_000;
const LARGE_PAYLOAD_BYTES = 1024 * 1024;

/** No outpost message is bigger than a snapshot; the rest is room for the topic and headers. */
export const MAX_PACKET_BYTES = MAX_SNAPSHOT_BYTES + 64 * 1024;

export type LinkState = { readonly connected: true } | { readonly connected: false; readonly error?: string; readonly retryInMs?: number };

export interface MqttLink {
  readonly connected: boolean;
  /** Runs on every successful (re)connect; `sessionPresent` tells whether the broker kept our session. */
  onConnect(cb: (sessionPresent: boolean) => void): void;
  /**
   * A callback may return a promise: the next message is not read from the broker (nor this one
   * acknowledged) until it settles or HANDLER_WAIT_MS pass, so a flood queues in the broker and
   * the kernel's socket buffers, not in the agent's memory.
   */
  onMessage(cb: (topic: string, payload: Uint8Array, retained: boolean) => void | Promise<unknown>): void;
  onState(cb: (s: LinkState) => void): void;
  publish(topic: string, payload: Uint8Array | string, opts: { retain: boolean; qos: 0 | 1 }): Promise<void>;
  subscribe(topics: readonly string[], qos: 0 | 1): Promise<void>;
  /** Optional: a link without it keeps every subscription (the relay then hears its own publications). */
  unsubscribe?(topics: readonly string[]): Promise<void>;
  /** Closes the connection; `graceful` sends DISCONNECT (no last will), otherwise the will fires. */
  close(graceful?: boolean): Promise<void>;
  /**
   * Optional: a broker holds the will given at connect time, so a new one takes a reconnect:
   * DISCONNECT (the old will is dropped, not published) and connect again with the will option
   * evaluated anew. Subscriptions and queued messages survive in a persistent session.
   */
  renewWill?(): Promise<void>;
}

/** Jitter: a uniform delay between half the first step and the capped exponential step (never 0, so a fleet never reconnects in one instant). */
export function backoffDelay(attempt: number, b: { initialMs: number; maxMs: number }, random: () => number = Math.random): number {
  const cap = backoffStep(attempt, b);
  return Math.round(b.initialMs / 2 + random() * (cap - b.initialMs / 2));
}

const willOption = (w: Will | (() => Will)) => {
  const will = typeof w === 'function' ? w() : w;
  return { topic: will.topic, payload: Buffer.from(will.payload), retain: will.retain, qos: will.qos };
};

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
    ...(opts.will ? { will: willOption(opts.will) } : {}),
  };
  const connectCbs: ((sp: boolean) => void)[] = [];
  const messageCbs: ((t: string, p: Uint8Array, r: boolean) => void | Promise<unknown>)[] = [];
  let handling: Promise<unknown>[] = [];
  const stateCbs: ((s: LinkState) => void)[] = [];
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closing = false;
  /** While a renewWill disconnects on purpose: that close is not an outage to report or retry. */
  let renewing = false;
  let lastError: string | undefined;

  // Unreadable TLS files are a connection failure like any other (reported, retried, re-read),
  // never an exception: the agent's control path must keep trying.
  const readTls = (t: TlsFiles) => {
    try {
      return tlsOptions(t);
    } catch (e) {
      lastError = (e as Error).message;
      return { rejectUnauthorized: true };
    }
  };
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
    ...(opts.tls ? readTls(opts.tls) : {}),
    ...(u.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {}),
    // Connected below, once the packet guard wraps every stream the client builds.
    manualConnect: true,
  });
  // streamBuilder is private in the typings, public in the code (MQTT.js 5).
  guardClient(client as unknown as Parameters<typeof guardClient>[0], opts.maxPacketBytes ?? MAX_PACKET_BYTES, (o) => opts.onOversized?.(o));
  client.connect();
  // MQTT.js calls handleMessage after 'message' and reads the next packet only once it calls back.
  client.handleMessage = (packet, done) => {
    const waits = handling;
    handling = [];
    // A large payload (a snapshot, or a forged one) leaves two copies of itself behind (MQTT.js's
    // buffer list and its slice); collected at once, so a flood cannot stack them up before the
    // runtime's lazy GC runs.
    const size = 'payload' in packet && packet.payload ? packet.payload.length : 0;
    const finish = () => {
      done();
      if (size >= LARGE_PAYLOAD_BYTES) Bun.gc(true);
    };
    if (!waits.length) return finish();
    let cap: ReturnType<typeof setTimeout> | undefined;
    void Promise.race([Promise.allSettled(waits), new Promise((r) => (cap = setTimeout(r, HANDLER_WAIT_MS)))]).then(() => {
      clearTimeout(cap);
      finish();
    });
  };
  client.on('connect', (ack) => {
    attempt = 0;
    lastError = undefined;
    stateCbs.forEach((cb) => cb({ connected: true }));
    connectCbs.forEach((cb) => cb(ack.sessionPresent));
  });
  client.on('message', (topic, payload, packet) => {
    // A view, not a copy: a snapshot can be 16 MiB (decodeSnapshot copies what it accepts).
    for (const cb of messageCbs) {
      const r = cb(topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.length), packet.retain);
      if (r) handling.push(r);
    }
  });
  client.on('error', (e) => {
    lastError = e.message;
  });
  client.on('close', () => {
    if (closing || renewing) return;
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
        if (opts.tls) {
          // A renewed certificate (or a rotated CA) is picked up here; unreadable files keep the last ones.
          Object.assign(client.options, readTls(opts.tls));
        }
        if (opts.will && typeof opts.will === 'function') client.options.will = willOption(opts.will);
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
    unsubscribe: async (topics) => {
      await client.unsubscribeAsync([...topics]);
    },
    renewWill: async () => {
      if (!opts.will || typeof opts.will !== 'function' || !client.connected || closing || renewing) return;
      renewing = true;
      try {
        await client.endAsync(false);
      } finally {
        renewing = false;
      }
      client.options.will = willOption(opts.will);
      if (!closing) client.reconnect();
    },
    close: async (graceful = true) => {
      closing = true;
      if (timer) clearTimeout(timer);
      await client.endAsync(!graceful);
    },
  };
}
