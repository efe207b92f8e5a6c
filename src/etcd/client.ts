/**
 * The only module that talks to etcd: the v3 JSON gateway (`/v3/...`) over `fetch`.
 *
 * Why the gateway and not gRPC: an npm etcd client does not survive `bun build --compile`,
 * and the gateway needs nothing but HTTP. What it costs: keys, values and revisions travel
 * as base64 and int64-as-string; both are converted here and nowhere else. Revisions stay
 * decimal strings end to end (an int64 does not fit a JS number).
 *
 * Contract:
 * - Unary calls have a timeout. Reads go to the next endpoint on any connection failure or
 *   timeout; writes only when the connection was refused (the request surely did not
 *   arrive), because a retried txn elsewhere could report "already exists" for its own write.
 * - Every response is validated (gateway-schemas.ts); a malformed one is an EtcdError
 *   BAD_RESPONSE naming the field.
 * - `watch` yields created / events / progress / compacted / canceled / closed, and throws
 *   EtcdError UNAVAILABLE when the connection fails; it never retries by itself (the caller
 *   knows from which revision to resume).
 */
import { Buffer } from 'node:buffer';
import * as v from 'valibot';
import {
  AuthenticateResponseSchema,
  CompactionResponseSchema,
  GatewayErrorSchema,
  PutResponseSchema,
  RangeResponseSchema,
  StatusResponseSchema,
  TxnResponseSchema,
  describeIssues,
  errorDetails,
} from './gateway-schemas.ts';
import { EtcdError, encodeBase64, toKeyValue, type KeyValue } from './types.ts';
import { parseWatchLine, type WatchMessage } from './watch-stream.ts';
import { STALE_TOKEN, tlsHint } from './connection-hints.ts';

export { EtcdError, type EtcdErrorCode, type KeyValue } from './types.ts';
export type { WatchEvent, WatchMessage } from './watch-stream.ts';

export interface RangeResult {
  /** The store revision the read was served at (the response header). */
  readonly revision: string;
  readonly kvs: readonly KeyValue[];
  readonly more: boolean;
}

/** Outcome of a compare-and-put: on failure, the key's current state (undefined: absent). */
export type WriteOutcome =
  | { readonly ok: true; readonly revision: string }
  | { readonly ok: false; readonly revision: string; readonly current: KeyValue | undefined };

export type DeleteOutcome =
  | { readonly ok: true; readonly revision: string; readonly deleted: KeyValue | undefined }
  | { readonly ok: false; readonly revision: string; readonly current: KeyValue | undefined };

/** PEM text (not paths): Bun's fetch takes it as `tls`. Files are read in config/etcd-connection.ts. */
export interface EtcdTLS {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** etcd's own users (`etcdctl user add`, `auth enable`): a token per login, sent on every call. */
export interface EtcdCredentials {
  readonly username: string;
  readonly password: string;
}

export interface EtcdClientOptions {
  /** Gateway base URLs, e.g. http://127.0.0.1:2379; tried in order, sticky on the one that works. */
  readonly endpoints: readonly string[];
  /** Per unary request (default 5000 ms). */
  readonly timeoutMs?: number;
  readonly tls?: EtcdTLS;
  readonly credentials?: EtcdCredentials;
  /** Replaceable for tests. */
  readonly fetch?: typeof fetch;
}

export interface RangeOptions {
  /** Every key that starts with the given key. */
  readonly prefix?: boolean;
  /** Or: every key in [key, end). */
  readonly end?: string;
  readonly revision?: string;
  readonly limit?: number;
}

export interface WatchOptions {
  readonly prefix?: boolean;
  readonly end?: string;
  /** First revision to deliver (decimal string); events from then on, including history. */
  readonly startRevision: string;
  readonly prevKv?: boolean;
  readonly signal?: AbortSignal;
  /**
   * A quiet watch sends nothing, so a dead peer is only noticed by asking: every this many
   * ms the endpoint's status is read, and the watch fails if it does not answer (default 10 s).
   */
  readonly livenessMs?: number;
}

const enc = encodeBase64;

/** etcd's "every key with this prefix" range end: the prefix with its last byte below 0xff bumped. */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = end[i]! + 1;
      return end.toString('base64');
    }
  }
  return enc('\0'); // all 0xff (or empty): to the end of the keyspace
}

function rangeEnd(key: string, options: { prefix?: boolean; end?: string }): string | undefined {
  if (options.end !== undefined) return enc(options.end);
  return options.prefix ? prefixRangeEnd(key) : undefined;
}

const REFUSED = new Set(['ECONNREFUSED', 'ConnectionRefused', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

function isAbort(e: unknown): boolean {
  return e instanceof DOMException && (e.name === 'AbortError' || e.name === 'TimeoutError');
}

export class EtcdClient {
  readonly endpoints: readonly string[];
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #tls: EtcdTLS | undefined;
  readonly #credentials: EtcdCredentials | undefined;
  /** The current auth token (or the login in flight), shared by concurrent calls. */
  #token: Promise<string> | undefined;
  #current = 0;

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new Error('no etcd endpoints given');
    this.endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ''));
    for (const e of this.endpoints) {
      if (!/^https?:\/\/[^/]+$/.test(e)) throw new Error(`etcd endpoint ${JSON.stringify(e)} must be http(s)://host:port`);
    }
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#fetch = options.fetch ?? fetch;
    this.#tls = options.tls;
    this.#credentials = options.credentials;
  }

  #init(body: unknown, signal: AbortSignal, extra: Record<string, unknown> = {}, token?: string): RequestInit {
    return {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: token }) },
      body: JSON.stringify(body),
      signal,
      ...(this.#tls ? { tls: this.#tls } : {}),
      ...extra,
    } as RequestInit;
  }

  /** The token to send (logging in first when there is none); undefined without credentials. */
  async #currentToken(): Promise<string | undefined> {
    if (!this.#credentials) return undefined;
    this.#token ??= this.#login(this.#credentials);
    try {
      return await this.#token;
    } catch (e) {
      this.#token = undefined; // the next call tries again
      throw e;
    }
  }

  async #login(c: EtcdCredentials): Promise<string> {
    // A wrong password is SERVER (gRPC 3 "authentication failed"): the message names the user, never the password.
    const r = await this.#callOnce('/v3/auth/authenticate', { name: c.username, password: c.password }, AuthenticateResponseSchema, true, undefined);
    return r.token;
  }

  /** One unary call, with failover and (with credentials) one fresh login on a stale token. */
  async #call<S extends v.GenericSchema>(path: string, body: unknown, schema: S, idempotent: boolean): Promise<v.InferOutput<S>> {
    const token = await this.#currentToken();
    try {
      return await this.#callOnce(path, body, schema, idempotent, token);
    } catch (e) {
      if (token === undefined || !(e instanceof EtcdError) || e.code !== 'SERVER' || !STALE_TOKEN.test(e.message)) throw e;
      if (this.#token !== undefined && (await this.#token.catch(() => undefined)) === token) this.#token = undefined;
      return this.#callOnce(path, body, schema, idempotent, await this.#currentToken());
    }
  }

  async #callOnce<S extends v.GenericSchema>(path: string, body: unknown, schema: S, idempotent: boolean, token: string | undefined): Promise<v.InferOutput<S>> {
    const failures: string[] = [];
    for (let n = 0; n < this.endpoints.length; n++) {
      const index = (this.#current + n) % this.endpoints.length;
      const endpoint = this.endpoints[index]!;
      let res: Response;
      try {
        res = await this.#fetch(`${endpoint}${path}`, this.#init(body, AbortSignal.timeout(this.#timeoutMs), {}, token));
      } catch (e) {
        const code = (e as { code?: string }).code ?? '';
        const what = isAbort(e) ? `no answer within ${this.#timeoutMs} ms` : `${(e as Error).message}${tlsHint(e)}`;
        failures.push(`${endpoint}: ${what}`);
        if (idempotent || REFUSED.has(code)) continue;
        const kind = isAbort(e) ? 'TIMEOUT' : 'UNAVAILABLE';
        throw new EtcdError(kind, `etcd ${path} at ${endpoint}: ${what} (the write may or may not have been applied)`, { cause: e });
      }
      const text = await res.text().catch((e: unknown) => {
        failures.push(`${endpoint}: reading the response failed: ${(e as Error).message}`);
        return undefined;
      });
      if (text === undefined) {
        if (idempotent) continue;
        throw new EtcdError('UNAVAILABLE', `etcd ${path} at ${endpoint}: ${failures.at(-1)} (the write may or may not have been applied)`);
      }
      const json = parseJSON(text);
      if (!res.ok) {
        const err = v.safeParse(GatewayErrorSchema, json);
        const { grpcCode, message } = err.success
          ? errorDetails(err.output)
          : { grpcCode: undefined, message: `HTTP ${res.status}: ${text.slice(0, 200)}` };
        if (grpcCode === 11 && message.includes('compacted')) {
          throw new EtcdError('COMPACTED', `etcd ${path}: ${message}`, { grpcCode });
        }
        // 14 = Unavailable (no leader, member stopping): another member may serve it.
        if (grpcCode === 14 && idempotent) {
          failures.push(`${endpoint}: ${message}`);
          continue;
        }
        throw new EtcdError(grpcCode === 14 ? 'UNAVAILABLE' : 'SERVER', `etcd ${path} at ${endpoint}: ${message}`, grpcCode === undefined ? {} : { grpcCode });
      }
      const parsed = v.safeParse(schema, json);
      if (!parsed.success) {
        throw new EtcdError('BAD_RESPONSE', `etcd ${path} at ${endpoint}: unexpected response (${describeIssues(parsed.issues)})`);
      }
      this.#current = index;
      return parsed.output;
    }
    throw new EtcdError('UNAVAILABLE', `etcd unreachable: ${failures.join('; ')}`);
  }

  /**
   * Reads `key`, every key under it (`prefix`), or the keys in [key, end). With `revision`,
   * as of that revision (COMPACTED if it is gone); with `limit`, `more` says whether to go on.
   */
  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    const body: Record<string, unknown> = { key: enc(key) };
    const end = rangeEnd(key, options);
    if (end !== undefined) body['range_end'] = end;
    if (options.revision !== undefined) body['revision'] = options.revision;
    if (options.limit !== undefined) body['limit'] = String(options.limit);
    const r = await this.#call('/v3/kv/range', body, RangeResponseSchema, true);
    return { revision: r.header.revision, kvs: r.kvs.map(toKeyValue), more: r.more };
  }

  async get(key: string): Promise<{ revision: string; kv: KeyValue | undefined }> {
    const r = await this.range(key);
    return { revision: r.revision, kv: r.kvs[0] };
  }

  async put(key: string, value: string): Promise<string> {
    const r = await this.#call('/v3/kv/put', { key: enc(key), value: enc(value) }, PutResponseSchema, false);
    return r.header.revision;
  }

  /**
   * Create: If(Version(key)==0 [and Version(k)==0 for each of `alsoAbsent`]) Then Put Else Get,
   * as Calico's etcdv3 backend does. `current` on failure is whichever key exists.
   */
  async create(key: string, value: string, alsoAbsent: readonly string[] = []): Promise<WriteOutcome> {
    const keys = [key, ...alsoAbsent];
    const r = await this.#txn(
      keys.map((k) => ({ target: 'VERSION', key: enc(k), result: 'EQUAL', version: '0' })),
      [{ request_put: { key: enc(key), value: enc(value) } }],
      keys.map((k) => ({ request_range: { key: enc(k) } })),
    );
    if (r.succeeded) return { ok: true, revision: r.header.revision };
    const current = r.responses.flatMap((op) => op.response_range?.kvs ?? [])[0];
    return { ok: false, revision: r.header.revision, current: current && toKeyValue(current) };
  }

  /** Update: If(ModRevision(key)==rev) Then Put Else Get. */
  async update(key: string, value: string, modRevision: string): Promise<WriteOutcome> {
    const r = await this.#txn(
      [{ target: 'MOD', key: enc(key), result: 'EQUAL', mod_revision: modRevision }],
      [{ request_put: { key: enc(key), value: enc(value) } }],
      [{ request_range: { key: enc(key) } }],
    );
    if (r.succeeded) return { ok: true, revision: r.header.revision };
    const current = r.responses[0]?.response_range?.kvs[0];
    return { ok: false, revision: r.header.revision, current: current && toKeyValue(current) };
  }

  /** Delete one key with its previous value; with `modRevision`, only if it still has that revision. */
  async delete(key: string, options: { modRevision?: string } = {}): Promise<DeleteOutcome> {
    const compare =
      options.modRevision === undefined
        ? []
        : [{ target: 'MOD', key: enc(key), result: 'EQUAL', mod_revision: options.modRevision }];
    const r = await this.#txn(
      compare,
      [{ request_delete_range: { key: enc(key), prev_kv: true } }],
      [{ request_range: { key: enc(key) } }],
    );
    if (!r.succeeded) {
      const current = r.responses[0]?.response_range?.kvs[0];
      return { ok: false, revision: r.header.revision, current: current && toKeyValue(current) };
    }
    const prev = r.responses[0]?.response_delete_range?.prev_kvs[0];
    return { ok: true, revision: r.header.revision, deleted: prev && toKeyValue(prev) };
  }

  async #txn(compare: unknown[], success: unknown[], failure: unknown[]) {
    const r = await this.#call('/v3/kv/txn', { compare, success, failure }, TxnResponseSchema, false);
    const expected = r.succeeded ? success.length : failure.length;
    if (r.responses.length !== expected) {
      throw new EtcdError('BAD_RESPONSE', `etcd txn: expected ${expected} responses, got ${r.responses.length}`);
    }
    return r;
  }

  /** Discards history up to `revision` (tests; operators normally leave this to etcd). */
  async compact(revision: string, physical = true): Promise<void> {
    await this.#call('/v3/kv/compaction', { revision, physical }, CompactionResponseSchema, false);
  }

  async status(endpoint?: string): Promise<{ revision: string; version: string }> {
    if (endpoint === undefined) {
      const r = await this.#call('/v3/maintenance/status', {}, StatusResponseSchema, true);
      return { revision: r.header.revision, version: r.version };
    }
    const res = await this.#fetch(`${endpoint}/v3/maintenance/status`, this.#init({}, AbortSignal.timeout(this.#timeoutMs), {}, await this.#currentToken()));
    const parsed = v.safeParse(StatusResponseSchema, parseJSON(await res.text()));
    if (!res.ok || !parsed.success) throw new EtcdError('BAD_RESPONSE', `etcd status at ${endpoint}: HTTP ${res.status}`);
    return { revision: parsed.output.header.revision, version: parsed.output.version };
  }

  /** Opens the stream on the first endpoint that accepts it (headers within the unary timeout). */
  async #openWatch(body: unknown, signal: AbortSignal): Promise<{ endpoint: string; res: Response }> {
    const failures: string[] = [];
    // A watch is opened rarely and its token is checked only then: log in afresh so an expired
    // token never turns into a watch that fails over and over.
    if (this.#credentials) this.#token = undefined;
    const token = await this.#currentToken();
    for (let n = 0; n < this.endpoints.length; n++) {
      const index = (this.#current + n) % this.endpoints.length;
      const endpoint = this.endpoints[index]!;
      // Not AbortSignal.timeout on the request: that would also cut the body stream later.
      const attempt = new AbortController();
      const timer = setTimeout(() => attempt.abort(new DOMException('timed out', 'TimeoutError')), this.#timeoutMs);
      try {
        // Bun aborts a response body that is quiet for 300 s unless told otherwise; a quiet
        // watch is normal, and liveness is checked separately.
        const init = this.#init(body, AbortSignal.any([signal, attempt.signal]), { timeout: false }, token);
        const res = await this.#fetch(`${endpoint}/v3/watch`, init);
        if (!res.ok || !res.body) {
          failures.push(`${endpoint}: HTTP ${res.status} ${(await res.text().catch(() => '')).slice(0, 200)}`);
          continue;
        }
        this.#current = index;
        return { endpoint, res };
      } catch (e) {
        if (signal.aborted) throw e;
        failures.push(`${endpoint}: ${isAbort(e) ? `no answer within ${this.#timeoutMs} ms` : `${(e as Error).message}${tlsHint(e)}`}`);
      } finally {
        clearTimeout(timer);
      }
    }
    throw new EtcdError('UNAVAILABLE', `etcd watch: no endpoint accepted it: ${failures.join('; ')}`);
  }

  /**
   * Watches `key` (or every key under it with `prefix`) from `startRevision`. Ends after a
   * `compacted`, `canceled` or `closed` message, or when `signal` aborts; throws EtcdError
   * UNAVAILABLE/BAD_RESPONSE/SERVER on failure.
   */
  async *watch(key: string, options: WatchOptions): AsyncGenerator<WatchMessage, void> {
    const outer = options.signal ?? new AbortController().signal;
    const local = new AbortController();
    const signal = AbortSignal.any([outer, local.signal]);
    const create: Record<string, unknown> = { key: enc(key), start_revision: options.startRevision };
    const end = rangeEnd(key, options);
    if (end !== undefined) create['range_end'] = end;
    if (options.prevKv) create['prev_kv'] = true;
    let dead: EtcdError | undefined;
    let timer: ReturnType<typeof setInterval> | undefined;
    try {
      const { endpoint, res } = await this.#openWatch({ create_request: create }, signal);
      timer = setInterval(() => {
        this.status(endpoint).catch((e: unknown) => {
          dead = new EtcdError('UNAVAILABLE', `etcd watch at ${endpoint}: endpoint stopped answering (${(e as Error).message})`);
          local.abort();
        });
      }, options.livenessMs ?? 10_000);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (dead) throw dead;
          if (outer.aborted) return;
          throw new EtcdError('UNAVAILABLE', `etcd watch at ${endpoint}: connection lost (${(e as Error).message})`, { cause: e });
        }
        if (chunk.done) {
          yield { type: 'closed' };
          return;
        }
        buffered += decoder.decode(chunk.value, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          const msg = parseWatchLine(line, endpoint);
          yield msg;
          if (msg.type === 'compacted' || msg.type === 'canceled') return;
        }
      }
    } catch (e) {
      if (outer.aborted && !(e instanceof EtcdError)) return;
      throw e;
    } finally {
      if (timer) clearInterval(timer);
      local.abort();
    }
  }
}

export function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
