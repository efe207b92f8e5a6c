/**
 * Calico's clientv3 semantics over etcd, for the resource commands: create fails if the
 * resource exists, update and delete compare-and-swap on the revision, policies need their
 * tier, the built-in tiers are ensured before writes (calicoctl's EnsureInitialized), the
 * synthesized default-allow profile is read-only, and a protected or non-empty tier cannot
 * be deleted. What is stored is calico-layout's encodeForStorage, byte for byte.
 *
 * NetworkSet and WorkloadEndpoint are namespaced: they are addressed by namespace and name
 * (calicoctl's "default" when none is given), and a listing without a namespace covers all.
 * WorkloadEndpoints can be read and deleted but not written: Calico's CNI plugin owns them
 * (clientv3 derives their name from the spec and adds labels outpost has no reason to fake).
 *
 * Two deliberate departures from calicoctl: an update that would store exactly the bytes
 * already stored is skipped (apply twice changes nothing, not even the revision), and an
 * update of a resource written without uid/creationTimestamp (by hand, with etcdctl) fills
 * them in instead of failing.
 */
import { BUILTIN_TIERS } from '../model/tier.ts';
import { validateResource } from '../model/validate.ts';
import type { Resource, ResourceKind } from '../model/resource.ts';
import { DEFAULT_NAMESPACE, isNamespacedKind } from '../model/namespaced.ts';
import type { EtcdClient, KeyValue } from '../etcd/client.ts';
import {
  decodeStored,
  defaultAllowProfile,
  encodeForStorage,
  goTime,
  isDefaultAllow,
  kindPrefix,
  legacyPolicyKey,
  resourceKey,
  DEFAULT_ALLOW_PROFILE,
} from '../datastore/calico-layout.ts';

export type StoreErrorCode = 'AlreadyExists' | 'DoesNotExist' | 'Conflict' | 'NotSupported' | 'Invalid';

/** An expected refusal (as Calico's errors package names them); datastore trouble is an EtcdError. */
export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** A resource as read: the v3 object Calico's client returns (resourceVersion = ModRevision). */
export interface Found {
  readonly kind: ResourceKind;
  readonly name: string;
  /** For a namespaced kind. */
  readonly namespace?: string;
  readonly key: string;
  readonly revision: string;
  readonly object: Record<string, unknown>;
  /** The stored bytes (absent for the synthesized profile). */
  readonly stored: string | undefined;
  /** Stored at a ≤3.31 `default.<name>` key. */
  readonly legacy: boolean;
}

export interface StoreClock {
  readonly uid: () => string;
  readonly now: () => Date;
}

/** calicoctl's way of naming a resource in messages: Kind(name) or Kind(namespace/name). */
const id = (kind: string, name: string, namespace?: string) => `${kind}(${namespace === undefined ? '' : `${namespace}/`}${name})`;
/** The namespace a namespaced kind is addressed in; undefined for a global kind. */
const nsFor = (kind: ResourceKind, namespace: string | undefined) => (isNamespacedKind(kind) ? namespace || DEFAULT_NAMESPACE : undefined);
type Obj = Record<string, unknown>;

function found(kv: KeyValue): Found | undefined {
  const d = decodeStored(kv);
  if (!d) return undefined;
  if (!d.ok) throw new StoreError('Invalid', `stored value at ${kv.key} cannot be read: ${d.error.path ? `${d.error.path}: ` : ''}${d.error.message}`);
  return { kind: d.kind, name: d.name, ...(d.namespace === undefined ? {} : { namespace: d.namespace }), key: kv.key, revision: kv.modRevision, object: d.object, stored: kv.value, legacy: d.name !== d.keyName };
}

function builtinProfile(): Found {
  return { kind: 'Profile', name: DEFAULT_ALLOW_PROFILE, key: resourceKey('Profile', DEFAULT_ALLOW_PROFILE), revision: '1', object: defaultAllowProfile(), stored: undefined, legacy: false };
}

export class CalicoStore {
  constructor(
    private readonly client: EtcdClient,
    private readonly clock: StoreClock = { uid: () => crypto.randomUUID(), now: () => new Date() },
  ) {}

  async get(kind: ResourceKind, name: string, namespace?: string): Promise<Found | undefined> {
    if (isDefaultAllow(kind, name)) return builtinProfile();
    const plain = await this.client.get(resourceKey(kind, name, nsFor(kind, namespace)));
    if (plain.kv) return found(plain.kv);
    const legacy = legacyPolicyKey(kind, name);
    if (!legacy) return undefined;
    const old = await this.client.get(legacy);
    return old.kv ? found(old.kv) : undefined;
  }

  /**
   * Every resource of `kind` in key order (a ≤3.31 copy only when no ≥3.32 one exists), and
   * the list revision; for a namespaced kind, those of `namespace`, or of all namespaces when
   * it is undefined. Values that cannot be decoded are left out (as Calico's List does) and
   * named in `problems`.
   */
  async list(kind: ResourceKind, namespace?: string): Promise<{ revision: string; items: Found[]; problems: string[] }> {
    const r = await this.client.range(kindPrefix(kind, isNamespacedKind(kind) ? namespace : undefined), { prefix: true });
    const byName = new Map<string, Found>();
    const problems: string[] = [];
    for (const kv of r.kvs) {
      let f: Found | undefined;
      try {
        f = found(kv);
      } catch (e) {
        problems.push((e as Error).message);
      }
      if (!f) continue;
      const k = `${f.namespace ?? ''}/${f.name}`;
      const have = byName.get(k);
      if (!have || (have.legacy && !f.legacy)) byName.set(k, f);
    }
    const items = [...byName.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (kind === 'Profile') items.push(builtinProfile());
    return { revision: r.revision, items, problems };
  }

  async #require(kind: ResourceKind, name: string, namespace?: string): Promise<Found> {
    const f = await this.get(kind, name, namespace);
    if (!f) throw new StoreError('DoesNotExist', `resource does not exist: ${id(kind, name, nsFor(kind, namespace))}`);
    return f;
  }

  #refuseWorkloadEndpoint(r: Resource, op: string): void {
    if (r.kind === 'WorkloadEndpoint') {
      throw new StoreError('NotSupported', `operation ${op} is not supported on ${id(r.kind, r.metadata.name, nsFor(r.kind, r.metadata.namespace))}: WorkloadEndpoints are written by Calico's CNI plugin; outpost only reads them (get, delete)`);
    }
  }

  /** calicoctl's create: only name, labels and annotations are taken from the input's metadata. */
  async create(r: Resource): Promise<string> {
    const { kind } = r;
    const name = r.metadata.name;
    if (isDefaultAllow(kind, name)) {
      throw new StoreError('AlreadyExists', `resource already exists: ${id(kind, name)} (the profile "${DEFAULT_ALLOW_PROFILE}" is provided by Calico)`);
    }
    this.#refuseWorkloadEndpoint(r, 'Create');
    if (r.kind === 'GlobalNetworkPolicy' || r.kind === 'StagedGlobalNetworkPolicy') await this.#require('Tier', r.spec.tier || 'default');
    const { labels, annotations, resourceVersion } = r.metadata;
    const namespace = nsFor(kind, r.metadata.namespace);
    const metadata = { name, ...(namespace === undefined ? {} : { namespace }), ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}), ...(resourceVersion ? { resourceVersion } : {}) };
    const e = encodeForStorage({ ...r, metadata } as Resource, 'create', { uid: this.clock.uid(), now: this.clock.now() });
    if (!e.ok) throw new StoreError('Invalid', `${id(kind, name)}: ${e.path}: ${e.message}`);
    const legacy = legacyPolicyKey(kind, name);
    const out = await this.client.create(e.key, e.value, legacy ? [legacy] : []);
    if (!out.ok) throw new StoreError('AlreadyExists', `resource already exists: ${id(kind, name, namespace)}`);
    return out.revision;
  }

  /**
   * calicoctl's replace: with a resourceVersion in the input, it must be the current one;
   * without, the current one is read and used (retrying a few times on a race). Either way the
   * write is a compare-and-swap on that revision.
   */
  async update(r: Resource): Promise<string> {
    const { kind } = r;
    const name = r.metadata.name;
    if (isDefaultAllow(kind, name)) {
      throw new StoreError('NotSupported', `operation Update is not supported on ${id(kind, name)}: the profile "${DEFAULT_ALLOW_PROFILE}" is a default provided by Calico and cannot be updated`);
    }
    this.#refuseWorkloadEndpoint(r, 'Update');
    const namespace = nsFor(kind, r.metadata.namespace);
    const wanted = r.metadata.resourceVersion || undefined;
    for (let attempt = 0; ; attempt++) {
      const current = await this.#require(kind, name, namespace);
      if (wanted !== undefined && wanted !== current.revision) {
        throw new StoreError('Conflict', `update conflict: ${id(kind, name)}: resource version '${wanted}' is out of date (latest: ${current.revision}). Update the resource YAML/JSON in order to make changes`);
      }
      const e = encodeForStorage({ ...r, metadata: this.#mergeMetadata(current, r) } as Resource, 'update', { uid: this.clock.uid(), now: this.clock.now() }, { legacyKey: current.legacy });
      if (!e.ok) throw new StoreError('Invalid', `${id(kind, name)}: ${e.path}: ${e.message}`);
      if (e.key === current.key && e.value === current.stored) return current.revision;
      const out = await this.client.update(e.key, e.value, current.revision);
      if (out.ok) return out.revision;
      if (!out.current) throw new StoreError('DoesNotExist', `resource does not exist: ${id(kind, name)}`);
      if (wanted !== undefined || attempt >= 4) throw new StoreError('Conflict', `update conflict: ${id(kind, name)}`);
      await Bun.sleep(100 * (attempt + 1));
    }
  }

  /** mergeMetadataForUpdate: the stored metadata, with labels and annotations from the input. */
  #mergeMetadata(current: Found, r: Resource): Obj {
    const stored = { ...(current.object['metadata'] as Obj) };
    delete stored['labels'];
    delete stored['annotations'];
    const { labels, annotations } = r.metadata;
    const merged: Obj = { ...stored, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}), name: r.metadata.name };
    merged['uid'] ||= this.clock.uid();
    merged['creationTimestamp'] ||= goTime(this.clock.now());
    return merged;
  }

  /** Create, or update when it exists (with the input's resourceVersion, if it has one). */
  async apply(r: Resource): Promise<string> {
    const { resourceVersion, ...rest } = r.metadata;
    try {
      return await this.create({ ...r, metadata: rest } as Resource);
    } catch (e) {
      if (!(e instanceof StoreError) || e.code !== 'AlreadyExists') throw e;
      return this.update(r);
    }
  }

  /** Deletes with a compare on `resourceVersion` (the input's, else the one just read); returns what was deleted. */
  async delete(kind: ResourceKind, name: string, resourceVersion?: string, namespace?: string): Promise<Found> {
    if (isDefaultAllow(kind, name)) {
      throw new StoreError('NotSupported', `operation Delete is not supported on ${id(kind, name)}: the profile "${DEFAULT_ALLOW_PROFILE}" is a default provided by Calico and cannot be deleted`);
    }
    if (kind === 'Tier') await this.#checkTierDeletable(name);
    const current = await this.#require(kind, name, namespace);
    const out = await this.client.delete(current.key, { modRevision: resourceVersion || current.revision });
    if (!out.ok) {
      if (!out.current) throw new StoreError('DoesNotExist', `resource does not exist: ${id(kind, name)}`);
      throw new StoreError('Conflict', `update conflict: ${id(kind, name)}: resource version '${resourceVersion || current.revision}' is out of date (latest: ${out.current.modRevision})`);
    }
    return current;
  }

  async #checkTierDeletable(name: string): Promise<void> {
    if (name in BUILTIN_TIERS) throw new StoreError('NotSupported', `operation Delete is not supported on ${name}: Cannot delete ${name} tier`);
    const { items } = await this.list('GlobalNetworkPolicy');
    const member = items.find((p) => ((p.object['spec'] as Obj | undefined)?.['tier'] || 'default') === name);
    if (member) throw new StoreError('NotSupported', `operation delete is not supported on ${name}: Cannot delete a non-empty tier (GlobalNetworkPolicy ${member.name} is in it)`);
  }

  /** The built-in tiers Calico's EnsureInitialized creates when missing (never changed when present). */
  async ensureBuiltinTiers(): Promise<void> {
    for (const [name, spec] of Object.entries(BUILTIN_TIERS)) {
      const v = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name }, spec });
      if (!v.ok) throw new Error(`built-in tier ${name} does not validate`);
      const e = encodeForStorage(v.resource, 'create', { uid: this.clock.uid(), now: this.clock.now() });
      if (e.ok) await this.client.create(e.key, e.value);
    }
  }
}
