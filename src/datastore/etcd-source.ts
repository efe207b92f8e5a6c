/**
 * etcd in Calico's v3 layout as a DatastoreSource for the relay: list, then watch from the
 * list revision + 1, the way Felix's syncer does.
 *
 * - One range holds every kind outpost reads (calico-layout resourceSpan), so one watch delivers every
 *   change with its exact store revision; the state's revision is the list's header revision,
 *   then each watch response's header revision.
 * - Every value is decoded (calico-layout) and validated (validateResource, 'stored' mode:
 *   unknown fields are ignored as Felix ignores them, and logged once per key and field). Other kinds are
 *   ignored without a word; a bad value is reported with its key and field, and a resource that
 *   was valid keeps its last valid version (as the folder source does), except a
 *   WorkloadEndpoint, which is then absent.
 * - etcd going away: the state read so far stays in force, errors are reported, and the watch
 *   is resumed from the last revision + 1 with capped, jittered backoff. Compaction past that
 *   revision: re-list and diff, so deletes made during the gap are noticed.
 * - onState is called only when the resources changed (never for progress or "created").
 */
import { backoffStep } from '../platform/backoff.ts';
import type { Logger } from '../platform/logger.ts';
import { resourceKey as modelKey, type Resource } from '../model/resource.ts';
import { formatResourceError, validateResource, type ResourceError, type ResourceWarning } from '../model/validate.ts';
import { EtcdClient, EtcdError, type KeyValue, type WatchEvent } from '../etcd/client.ts';
import { RESOURCE_ROOT, decodeStored, defaultAllowProfile, resourceSpan } from './calico-layout.ts';
import { HISTORY_DEPTH, lastValidVersion } from './etcd-history.ts';
import type { DatastoreListener, DatastoreSource } from './source.ts';
import type { HeldBackItem } from '../protocol/held-back.ts';
import { HeldBackChanges, heldBackReason, sortHeldBack } from './held-back-list.ts';

/** The kind a key's folder names (…/globalnetworkpolicies/x → globalnetworkpolicies), for values that cannot be decoded. */
function kindOfKey(key: string): string {
  const parts = key.slice(RESOURCE_ROOT.length).split('/');
  return parts[0] || 'unknown';
}

interface Entry {
  readonly modRevision: string;
  /** Last valid version; kept while the stored value is invalid. */
  readonly resource: Resource | undefined;
  /** True when the stored name is the key name (≥3.32 layout); preferred on a clash. */
  readonly plainKey: boolean;
}

/**
 * The resources held in one key range, maintained from KVs (pure; no I/O). Each method
 * returns whether the resources changed, and reports problems to `onError`.
 */
export class ResourceIndex {
  readonly #entries = new Map<string, Entry>();
  readonly #defaultAllow: Resource;
  /** Keys whose stored value is invalid now: the resource it names and why (held back). */
  readonly #held = new Map<string, { kind: string; name: string; reason: string }>();
  /** Per key, the warnings already reported: each is logged once, not on every change or re-list. */
  readonly #warned = new Map<string, Set<string>>();

  constructor(
    private readonly onError: (e: ResourceError) => void,
    private readonly onWarning: (w: ResourceWarning) => void = () => {},
  ) {
    const r = validateResource(defaultAllowProfile());
    if (!r.ok) throw new Error('built-in default-allow profile does not validate');
    this.#defaultAllow = r.resource;
  }

  /**
   * A put of `kv`; false when nothing outpost uses changed. Never throws: whatever goes wrong
   * with one value (even a decoder or validator that throws) is that key's error, and the value
   * counts as invalid (its last valid version stays), so the watch moves on to the next event.
   */
  put(kv: KeyValue): boolean {
    try {
      return this.#put(kv);
    } catch (e) {
      const message = `cannot be decoded: ${e instanceof Error ? e.message : String(e)}`;
      this.onError({ source: kv.key, path: '', message });
      this.#held.set(kv.key, { kind: kindOfKey(kv.key), name: kv.key.slice(kv.key.lastIndexOf('/') + 1), reason: message });
      return this.#invalid(kv, kv.key.startsWith(`${RESOURCE_ROOT}workloadendpoints/`), undefined);
    }
  }

  /**
   * An invalid value at `kv`. A WEP is absent, as in Felix, never its last valid version: a pod's
   * address is reused by the next pod, so an old version could let the wrong peer in (not keeping
   * an entry also keeps it out of any last-valid-version lookup). Anything else keeps its last
   * valid version (none: looked up in etcd's history, else reported as not enforced), and the new
   * revision is noted so a re-list does not read the value again.
   */
  #invalid(kv: KeyValue, isWep: boolean, plainKey: boolean | undefined): boolean {
    const prev = this.#entries.get(kv.key);
    if (isWep) {
      this.#entries.delete(kv.key);
      return prev?.resource !== undefined;
    }
    this.#entries.set(kv.key, { modRevision: kv.modRevision, resource: prev?.resource, plainKey: plainKey ?? prev?.plainKey ?? true });
    return false;
  }

  #put(kv: KeyValue): boolean {
    const decoded = decodeStored(kv);
    if (!decoded) return false;
    let resource: Resource | undefined;
    let problems: ResourceError[] = [];
    if (decoded.ok) {
      // Stored mode: unknown fields are ignored (as Felix does) and come back as notices.
      const r = validateResource(decoded.object, kv.key, { mode: 'stored' });
      if (r.ok) resource = r.resource;
      else problems = r.errors;
      this.#warnOnce(kv.key, [...decoded.warnings, ...r.notices, ...(r.ok ? r.warnings : [])]);
    } else {
      problems = [decoded.error];
    }
    problems.forEach((e) => this.onError(e));
    const name = decoded.namespace === undefined ? decoded.keyName : `${decoded.namespace}/${decoded.keyName}`;
    if (resource) this.#held.delete(kv.key);
    else this.#held.set(kv.key, { kind: decoded.kind, name, reason: heldBackReason(problems) });
    const plainKey = decoded.ok ? decoded.name === decoded.keyName : undefined;
    if (!resource) return this.#invalid(kv, decoded.kind === 'WorkloadEndpoint', plainKey);
    this.#entries.set(kv.key, { modRevision: kv.modRevision, resource, plainKey: plainKey === true });
    return true;
  }

  /** Stored values that are invalid and have no last valid version (to look up in etcd's history). */
  unenforced(): { key: string; modRevision: string }[] {
    return [...this.#entries].filter(([, e]) => e.resource === undefined).map(([key, e]) => ({ key, modRevision: e.modRevision }));
  }

  /** Puts a last valid version found elsewhere (history) in force for an invalid entry. */
  restore(key: string, resource: Resource): boolean {
    const e = this.#entries.get(key);
    if (!e || e.resource !== undefined) return false;
    this.#entries.set(key, { ...e, resource });
    return true;
  }

  /** The resource a stored KV holds, if it decodes and validates; problems are not reported. */
  static validStored(kv: KeyValue): Resource | undefined {
    try {
      const decoded = decodeStored(kv);
      if (!decoded?.ok) return undefined;
      const r = validateResource(decoded.object, kv.key, { mode: 'stored' });
      return r.ok ? r.resource : undefined;
    } catch {
      return undefined;
    }
  }

  #warnOnce(key: string, warnings: readonly ResourceWarning[]): void {
    if (warnings.length === 0) return;
    let seen = this.#warned.get(key);
    if (!seen) this.#warned.set(key, (seen = new Set()));
    for (const w of warnings) {
      const id = `${w.path}\0${w.message}`;
      if (seen.has(id)) continue;
      seen.add(id);
      this.onWarning(w);
    }
  }

  /**
   * Stored values that are invalid now, each with whether its last valid version stays in force
   * (a WorkloadEndpoint never: it is absent while invalid).
   */
  heldBack(): HeldBackItem[] {
    return sortHeldBack([...this.#held].map(([key, h]) => ({ ...h, source: key, lastValidInForce: this.#entries.get(key)?.resource !== undefined })));
  }

  delete(key: string): boolean {
    const prev = this.#entries.get(key);
    this.#held.delete(key);
    this.#entries.delete(key);
    this.#warned.delete(key);
    return prev?.resource !== undefined;
  }

  /** One watch response's events, each on its own: a bad one never holds back the others. */
  apply(events: readonly WatchEvent[]): boolean {
    let changed = false;
    for (const e of events) changed = (e.type === 'delete' ? this.delete(e.kv.key) : this.put(e.kv)) || changed;
    return changed;
  }

  /**
   * Replaces the contents with a full listing: keys missing from it were deleted, keys whose
   * ModRevision did not move are left alone (no re-validation, no repeated error reports).
   */
  replaceAll(kvs: readonly KeyValue[]): boolean {
    let changed = false;
    const seen = new Set<string>();
    for (const kv of kvs) {
      seen.add(kv.key);
      if (this.#entries.get(kv.key)?.modRevision === kv.modRevision) continue;
      changed = this.put(kv) || changed;
    }
    for (const key of [...this.#entries.keys()]) if (!seen.has(key)) changed = this.delete(key) || changed;
    return changed;
  }

  /** Valid resources, one per kind/name (the ≥3.32 key wins over a ≤3.31 copy), sorted. */
  resources(): Resource[] {
    const byName = new Map<string, { r: Resource; plain: boolean }>();
    for (const [, e] of [...this.#entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!e.resource) continue;
      const k = modelKey(e.resource);
      const have = byName.get(k);
      if (!have || (e.plainKey && !have.plain)) byName.set(k, { r: e.resource, plain: e.plainKey });
    }
    byName.set(modelKey(this.#defaultAllow), { r: this.#defaultAllow, plain: true });
    return [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v.r);
  }
}

export interface EtcdSourceOptions {
  readonly endpoints: readonly string[];
  readonly log?: Logger;
  /** Instead of building one from `endpoints` (tests). */
  readonly client?: EtcdClient;
  /** How long start() keeps trying before giving up (default 10 s). */
  readonly startTimeoutMs?: number;
  /** Reconnect backoff: first delay and cap (defaults 200 ms, 10 s), jittered to 50–100 %. */
  readonly backoffMs?: { readonly initial: number; readonly max: number };
  /** How often a quiet watch checks that etcd still answers (default 10 s). */
  readonly livenessMs?: number;
  /** Page size for listings (default 500). */
  readonly pageSize?: number;
  readonly random?: () => number;
}

export class EtcdSource implements DatastoreSource {
  readonly #client: EtcdClient;
  readonly #opts: EtcdSourceOptions;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #first: { resolve: () => void; reject: (e: Error) => void } | undefined;
  #revision = '0';
  /** key → the invalid revision whose history held no valid version (looked up once). */
  readonly #unrecoverable = new Map<string, string>();
  #connected: (() => void) | undefined;
  /** Offers the index's held-back set after a change that did not alter the resources (a new invalid value). */
  #heldChanged: (() => void) | undefined;

  constructor(options: EtcdSourceOptions) {
    this.#opts = options;
    this.#client = options.client ?? new EtcdClient({ endpoints: options.endpoints });
  }

  /** The revision of the last state delivered ("0" before the first). */
  get revision(): string {
    return this.#revision;
  }

  async start(listener: DatastoreListener): Promise<void> {
    if (this.#loop) throw new Error('EtcdSource already started');
    const report = (e: ResourceError) => listener.onError(`invalid resource: ${formatResourceError(e)}`, e);
    const index = new ResourceIndex(report, (w) => listener.onWarning?.(formatResourceError(w), w));
    const firstState = new Promise<void>((resolve, reject) => (this.#first = { resolve, reject }));
    this.#connected = () => listener.onConnection?.(true);
    const held = new HeldBackChanges((items) => listener.onHeldBack?.(items));
    this.#heldChanged = () => held.offer(index.heldBack());
    const emit = () => {
      listener.onState({ revision: this.#revision, resources: index.resources() });
      held.offer(index.heldBack());
      this.#first?.resolve();
      this.#first = undefined;
    };
    const deadline = performance.now() + (this.#opts.startTimeoutMs ?? 10_000);
    this.#loop = this.#run(index, emit, (message) => {
      listener.onError(message);
      listener.onConnection?.(false, message);
      if (this.#first && performance.now() > deadline) {
        this.#first.reject(new Error(`etcd never readable: ${message}`));
        this.#first = undefined;
        this.#stop.abort(); // nobody will call stop() on a source that never started
      }
    });
    return firstState;
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#first?.reject(new Error('EtcdSource stopped before the first state was read'));
    this.#first = undefined;
    await this.#loop;
  }

  async #list(index: ResourceIndex): Promise<boolean> {
    const { start, end } = resourceSpan();
    const pageSize = this.#opts.pageSize ?? 500;
    const kvs: KeyValue[] = [];
    let from = start;
    let revision: string | undefined;
    for (;;) {
      // Later pages are read at the first page's revision, so the listing is one snapshot.
      const page = await this.#client.range(from, { end, limit: pageSize, ...(revision ? { revision } : {}) });
      revision ??= page.revision;
      kvs.push(...page.kvs);
      const last = page.kvs[page.kvs.length - 1];
      if (!page.more || !last) break;
      from = `${last.key}\0`;
    }
    this.#revision = revision;
    const changed = index.replaceAll(kvs);
    return (await this.#recoverFromHistory(index)) || changed;
  }

  /**
   * After a (re)start the index has no memory of earlier versions: look up the last valid version
   * of each invalid value in etcd's history, so a restarted relay publishes what the running one
   * did. What cannot be recovered is reported as not enforced.
   */
  async #recoverFromHistory(index: ResourceIndex): Promise<boolean> {
    let changed = false;
    for (const { key, modRevision } of index.unenforced()) {
      if (this.#unrecoverable.get(key) === modRevision) continue;
      const r = await lastValidVersion(this.#client, key, modRevision, ResourceIndex.validStored);
      if (r.found) {
        changed = index.restore(key, r.resource) || changed;
        this.#opts.log?.warn({ key, invalidAt: modRevision, validAt: r.modRevision }, `etcd: ${key} is invalid; its last valid version (revision ${r.modRevision}, from etcd history) stays in force`);
      } else {
        this.#unrecoverable.set(key, modRevision);
        const why = r.reason === 'compacted' ? 'etcd history is compacted' : r.reason === 'too-deep' ? `none of its last ${HISTORY_DEPTH} versions is valid` : 'it was never valid';
        this.#opts.log?.error({ key, revision: modRevision }, `NOT ENFORCED: ${key} is invalid and ${why}; nothing of it is published until it is fixed`);
      }
    }
    return changed;
  }

  async #run(index: ResourceIndex, emit: () => void, fail: (message: string) => void): Promise<void> {
    const signal = this.#stop.signal;
    const log = this.#opts.log;
    let needList = true;
    let listedOnce = false;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        if (needList) {
          const changed = await this.#list(index);
          if (changed || !listedOnce) emit();
          else this.#heldChanged?.();
          listedOnce = true;
          needList = false;
          log?.info({ revision: this.#revision }, 'etcd: listed resources');
        }
        const { start, end } = resourceSpan();
        const watch = this.#client.watch(start, {
          end,
          startRevision: (BigInt(this.#revision) + 1n).toString(),
          signal,
          ...(this.#opts.livenessMs === undefined ? {} : { livenessMs: this.#opts.livenessMs }),
        });
        for await (const msg of watch) {
          if (msg.type === 'created') {
            attempt = 0;
            this.#connected?.();
            if (BigInt(msg.revision) < BigInt(this.#revision)) {
              // Restored from a backup, or another cluster: a watch from our revision would
              // wait for a future that already happened differently.
              fail(`etcd is at revision ${msg.revision}, behind the ${this.#revision} already read (restored, or a different cluster?); reading everything again`);
              needList = true;
              break;
            }
            log?.debug({ from: this.#revision }, 'etcd: watching');
          } else if (msg.type === 'events') {
            const changed = index.apply(msg.events);
            this.#revision = maxRevision(this.#revision, msg.revision);
            if (changed) emit();
            else this.#heldChanged?.();
          } else if (msg.type === 'progress') {
            this.#revision = maxRevision(this.#revision, msg.revision);
          } else if (msg.type === 'compacted') {
            log?.warn({ from: this.#revision, compacted: msg.compactRevision }, 'etcd: history compacted past our revision; re-listing');
            needList = true;
          } else if (msg.type === 'canceled') {
            log?.warn({ reason: msg.reason }, 'etcd: watch canceled; re-listing');
            needList = true;
          } else {
            log?.info('etcd: watch stream ended; resuming');
          }
        }
        // An ended stream (or a re-list) is not an error, but must not turn into a busy loop.
        if (!needList) await sleep(this.#backoff(attempt++), signal);
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof EtcdError && e.code === 'COMPACTED') {
          needList = true;
          continue;
        }
        const delay = this.#backoff(attempt++);
        const what = e instanceof EtcdError ? e.message : `unexpected error: ${(e as Error).stack ?? String(e)}`;
        fail(`${what}; ${listedOnce ? 'the last state read stays in force; ' : ''}retrying in ${Math.round(delay)} ms`);
        await sleep(delay, signal);
      }
    }
  }

  #backoff(attempt: number): number {
    const { initial, max } = this.#opts.backoffMs ?? { initial: 200, max: 10_000 };
    return backoffStep(attempt, { initialMs: initial, maxMs: max }) * (0.5 + 0.5 * (this.#opts.random ?? Math.random)());
  }
}

function maxRevision(a: string, b: string): string {
  return BigInt(b) > BigInt(a) ? b : a;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
