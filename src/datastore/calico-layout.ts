/**
 * Calico's etcdv3 layout: which key holds which resource, how a stored
 * value becomes the v3 object Calico's client would return, and the exact bytes Calico's
 * clientv3 + etcdv3 backend would store for a write. Pure: the uid and clock come in.
 *
 * Reading accepts both policy layouts: ≥3.32 keys are the plain name; ≤3.31 keys (and stored
 * names) carry a `default.` prefix, undone from the `projectcalico.org/metadata` annotation or,
 * without it, by stripping `default.` for a policy in the default tier. Writing produces the
 * ≥3.32 form, except that an update of a policy found at a ≤3.31 key keeps that key and name,
 * so there is never a second copy under the new name.
 *
 * `projectcalico-default-allow` is synthesized: never stored, always listed.
 *
 * NetworkSet and WorkloadEndpoint are namespaced: their keys are `<plural>/<namespace>/<name>`
 * and the key's namespace is the object's (as the key's plural is its kind).
 */
import { API_VERSION } from '../model/common.ts';
import { defaultPolicyTypes } from '../model/global-network-policy.ts';
import type { Resource, ResourceKind } from '../model/resource.ts';
import { SHOWN_PATH_SEGMENTS, formatPath, type ResourceError, type ResourceWarning } from '../model/validate.ts';
import { boundsProblem } from '../model/bounds.ts';
import { MAX_STORED_VALUE_BYTES, clip, sizeProblem } from '../model/limits.ts';
import { DEFAULT_NAMESPACE, isNamespacedKind } from '../model/namespaced.ts';
import { goMarshal, goQuote } from '../etcd/go-json.ts';
import { KIND_SHAPES } from '../etcd/calico-structs.ts';

export const RESOURCE_ROOT = '/calico/resources/v3/projectcalico.org/';
export const DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow';
export const TIER_LABEL = 'projectcalico.org/tier';
export const METADATA_ANNOTATION = 'projectcalico.org/metadata';
const LEGACY_PREFIX = 'default.';

export const KIND_PLURALS: Readonly<Record<ResourceKind, string>> = {
  HostEndpoint: 'hostendpoints',
  Profile: 'profiles',
  GlobalNetworkPolicy: 'globalnetworkpolicies',
  StagedGlobalNetworkPolicy: 'stagedglobalnetworkpolicies',
  GlobalNetworkSet: 'globalnetworksets',
  Tier: 'tiers',
  FelixConfiguration: 'felixconfigurations',
  NetworkSet: 'networksets',
  WorkloadEndpoint: 'workloadendpoints',
};

const KIND_BY_PLURAL = new Map(Object.entries(KIND_PLURALS).map(([k, p]) => [p, k as ResourceKind]));
const GLOBAL_KEY_RE = /^\/calico\/resources\/v3\/projectcalico[.]org\/([^/]+)\/([^/]+)$/;
const NAMESPACED_KEY_RE = /^\/calico\/resources\/v3\/projectcalico[.]org\/([^/]+)\/([^/]+)\/([^/]+)$/;

/**
 * Where every resource of `kind` lives (all namespaces), or with `namespace` only that
 * namespace's; the trailing "/" keeps `tiers` from matching `tiersx`.
 */
export function kindPrefix(kind: ResourceKind, namespace?: string): string {
  return namespace === undefined ? `${RESOURCE_ROOT}${KIND_PLURALS[kind]}/` : `${RESOURCE_ROOT}${KIND_PLURALS[kind]}/${namespace}/`;
}

/**
 * One key range that holds every kind outpost reads: [felixconfigurations/, workloadendpoints0).
 * One watch on one range delivers every change with its exact store revision, in order, so a
 * state is always one etcd revision (two watches would each have their own, and a WEP and the
 * policy naming it could be seen at different revisions). The range also holds kinds outpost
 * ignores (ippools, networkpolicies, nodes, namespaced staged policies: one regex each per change); the
 * noisiest of a Calico cluster (blockaffinities, bgp*, caliconodestatuses, IPAM under
 * /calico/ipam) stay outside. WorkloadEndpoints churn with every pod start and stop, and each
 * change recomputes every node's plan: the relay's cost per change grows with the cluster.
 */
export function resourceSpan(): { start: string; end: string } {
  const prefixes = Object.keys(KIND_PLURALS).map((k) => kindPrefix(k as ResourceKind)).sort();
  const last = prefixes[prefixes.length - 1]!;
  // Every prefix ends in "/", so bumping that last character is the prefix's range end.
  return { start: prefixes[0]!, end: `${last.slice(0, -1)}0` };
}

/** The etcd key; a namespaced kind without a namespace is in calicoctl's "default". */
export function resourceKey(kind: ResourceKind, name: string, namespace?: string): string {
  return isNamespacedKind(kind) ? `${kindPrefix(kind, namespace || DEFAULT_NAMESPACE)}${name}` : `${kindPrefix(kind)}${name}`;
}

/** The ≤3.31 key of a default-tier policy, or undefined when that layout never applied. */
export function legacyPolicyKey(kind: ResourceKind, name: string): string | undefined {
  if (!isPolicyKind(kind) || name.startsWith(LEGACY_PREFIX)) return undefined;
  return resourceKey(kind, `${LEGACY_PREFIX}${name}`);
}

/**
 * Kind, key name (and namespace, for a namespaced kind) of a key outpost reads; undefined for
 * other kinds, and for a key whose shape does not fit its kind's scope.
 */
export function parseResourceKey(key: string): { kind: ResourceKind; keyName: string; namespace?: string } | undefined {
  const g = GLOBAL_KEY_RE.exec(key);
  if (g) {
    const kind = KIND_BY_PLURAL.get(g[1]!);
    return kind && !isNamespacedKind(kind) ? { kind, keyName: g[2]! } : undefined;
  }
  const n = NAMESPACED_KEY_RE.exec(key);
  const kind = n ? KIND_BY_PLURAL.get(n[1]!) : undefined;
  return n && kind && isNamespacedKind(kind) ? { kind, namespace: n[2]!, keyName: n[3]! } : undefined;
}

/** Kinds Calico stores with the ≤3.31 tier prefix and the metadata annotation (etcdv3 defaultPolicyKey). */
const isPolicyKind = (kind: string): boolean => kind === 'GlobalNetworkPolicy' || kind === 'StagedGlobalNetworkPolicy';

export function isDefaultAllow(kind: string, name: string): boolean {
  return kind === 'Profile' && name === DEFAULT_ALLOW_PROFILE;
}

/** The built-in profile as Calico's client returns it (revision "1", no labels). */
export function defaultAllowProfile(): Record<string, unknown> {
  return {
    kind: 'Profile',
    apiVersion: API_VERSION,
    metadata: { name: DEFAULT_ALLOW_PROFILE, resourceVersion: '1' },
    spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
  };
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export type Decoded =
  | {
      ok: true;
      kind: ResourceKind;
      name: string;
      keyName: string;
      namespace?: string;
      object: Obj;
      /** The stored value named another resource than its key: the key's name is used (log it). */
      warnings: ResourceWarning[];
    }
  | { ok: false; kind: ResourceKind; keyName: string; namespace?: string; error: ResourceError };

/**
 * A stored KV as the raw v3 object Calico's client would return (validate it next), or
 * undefined when the key is not one of outpost's kinds (or is the synthesized profile).
 * Never throws: a value beyond the limits (size, nesting) or one that cannot be read is an
 * ordinary error naming the key.
 *
 * The key is the identity, as in Calico: the backend's KVPair key comes from the etcd key
 * (model.KeyFromDefaultPath) and Felix's syncer names the resource after it
 * (updateprocessors: v3key.Name), whatever name the value carries. So a value whose name
 * differs from its key is read under the key's name (with a warning), never under its own:
 * otherwise one value could shadow or replace another resource.
 */
export function decodeStored(kv: { key: string; value: string; modRevision: string }): Decoded | undefined {
  const parsed = parseResourceKey(kv.key);
  if (!parsed || isDefaultAllow(parsed.kind, parsed.keyName)) return undefined;
  try {
    return decodeValue(kv, parsed);
  } catch (e) {
    const { kind, keyName, namespace } = parsed;
    const message = `internal error while reading ${kv.key}: ${(e as Error)?.message ?? String(e)}`;
    return { ok: false, kind, keyName, ...(namespace === undefined ? {} : { namespace }), error: { source: kv.key, kind, name: keyName, path: '', message } };
  }
}

function decodeValue(
  kv: { key: string; value: string; modRevision: string },
  parsed: { kind: ResourceKind; keyName: string; namespace?: string },
): Decoded {
  const { kind, keyName, namespace } = parsed;
  const ns = namespace === undefined ? {} : { namespace };
  const fail = (path: string, message: string): Decoded => ({
    ok: false,
    kind,
    keyName,
    ...ns,
    error: { source: kv.key, kind, name: keyName, path, message },
  });
  // Size before parsing: a default etcd cannot even hold a larger value.
  const tooBig = sizeProblem('stored value', Buffer.byteLength(kv.value, 'utf8'), MAX_STORED_VALUE_BYTES);
  if (tooBig) return fail('', tooBig);
  let value: unknown;
  try {
    value = JSON.parse(kv.value) as unknown;
  } catch (e) {
    // Also a RangeError from a value nested too deep for the parser itself.
    return fail('', `stored value is not valid JSON (${clip((e as Error)?.message ?? String(e))})`);
  }
  // Before anything below (or the validation after) walks it recursively.
  const bounds = boundsProblem(value);
  if (bounds) return fail(formatPath(bounds.path, SHOWN_PATH_SEGMENTS), bounds.message);
  if (!isObj(value)) return fail('', 'stored value is not a JSON object');
  const metadata: Obj = isObj(value['metadata']) ? { ...value['metadata'] } : {};
  delete metadata['selfLink'];
  metadata['resourceVersion'] = kv.modRevision;
  const storedName = metadata['name'];
  metadata['name'] = keyName;
  if (namespace !== undefined) metadata['namespace'] = namespace;
  // The key decides the type, as Calico's ParseValue does.
  const object: Obj = { ...value, kind, apiVersion: API_VERSION, metadata };
  let valueName = typeof storedName === 'string' && storedName !== '' ? storedName : keyName;
  if (isPolicyKind(kind)) {
    const restored = restorePolicyName(object, metadata, valueName);
    if ('problem' in restored) return fail(`metadata.annotations[${JSON.stringify(METADATA_ANNOTATION)}]`, restored.problem);
    valueName = restored.name;
    metadata['name'] = policyNameFromKey(keyName, object, valueName);
    metadata['labels'] = { [TIER_LABEL]: 'default', ...(isObj(metadata['labels']) ? metadata['labels'] : {}) };
  }
  const name = String(metadata['name']);
  const warnings: ResourceWarning[] = [];
  if (valueName !== name) {
    warnings.push({
      source: kv.key,
      kind,
      name,
      path: 'metadata.name',
      message: `the stored value names ${JSON.stringify(clip(valueName))}, its key ${JSON.stringify(clip(keyName))}: read as ${JSON.stringify(clip(name))}, after the key (as Calico does)`,
    });
  }
  return { ok: true, kind, name, keyName, ...ns, object, warnings };
}

/**
 * The name a policy at `keyName` has: the key's name, less the ≤3.31 `default.` prefix of a
 * default-tier policy when the value's own (restored) name says it was added for storage.
 */
function policyNameFromKey(keyName: string, object: Obj, valueName: string): string {
  if (valueName === keyName) return keyName;
  const spec = isObj(object['spec']) ? object['spec'] : {};
  const tier = typeof spec['tier'] === 'string' ? spec['tier'] : '';
  const legacy = (tier === '' || tier === 'default') && keyName.startsWith(LEGACY_PREFIX);
  return legacy ? keyName.slice(LEGACY_PREFIX.length) : keyName;
}

/** The policy's name as Calico's determinePolicyName gives it (annotation, else prefix stripped). */
function restorePolicyName(object: Obj, metadata: Obj, storedName: string): { name: string } | { problem: string } {
  const annotations = isObj(metadata['annotations']) ? { ...metadata['annotations'] } : undefined;
  const stored = annotations?.[METADATA_ANNOTATION];
  if (annotations && typeof stored === 'string' && stored !== '') {
    let meta: unknown;
    try {
      meta = JSON.parse(stored) as unknown;
    } catch {
      return { problem: `${METADATA_ANNOTATION} annotation is not valid JSON: ${clip(stored, 100)}` };
    }
    if (!isObj(meta)) return { problem: `${METADATA_ANNOTATION} annotation must be a JSON object` };
    delete annotations[METADATA_ANNOTATION];
    if (Object.keys(annotations).length === 0) delete metadata['annotations'];
    else metadata['annotations'] = annotations;
    return { name: typeof meta['name'] === 'string' ? meta['name'] : '' };
  }
  const spec = isObj(object['spec']) ? object['spec'] : {};
  const tier = typeof spec['tier'] === 'string' ? spec['tier'] : '';
  if ((tier === '' || tier === 'default') && storedName.startsWith(LEGACY_PREFIX)) {
    return { name: storedName.slice(LEGACY_PREFIX.length) };
  }
  return { name: storedName };
}

// ---- writing -------------------------------------------------------------------

export interface WriteContext {
  /** For a create without one (crypto.randomUUID()). */
  readonly uid: string;
  readonly now: Date;
}

export interface WriteOptions {
  /** Write a default-tier policy at its ≤3.31 key with the ≤3.31 stored name. */
  readonly legacyKey?: boolean;
}

export type Encoded =
  | { ok: true; key: string; value: string; /** update: the ModRevision to compare */ revision: string | undefined }
  | { ok: false; path: string; message: string };

/** metav1.Time as Go writes it: RFC 3339, UTC, whole seconds. */
export function goTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * The key and value Calico's clientv3 + etcdv3 backend would write for `r` (a validated
 * resource). `create`: no resourceVersion allowed; uid and creationTimestamp filled in when
 * empty. `update`: resourceVersion (the CAS revision), uid and creationTimestamp required.
 * Both: kind/apiVersion forced, resourceVersion/selfLink cleared, the client-side defaults
 * applied (policy types and tier label, tier order/action, Felix's etcd-mode defaults).
 */
export function encodeForStorage(r: Resource, op: 'create' | 'update', ctx: WriteContext, options: WriteOptions = {}): Encoded {
  const name = r.metadata.name;
  if (isDefaultAllow(r.kind, name)) {
    return { ok: false, path: 'metadata.name', message: `the profile "${DEFAULT_ALLOW_PROFILE}" is provided by Calico and cannot be ${op}d` };
  }
  const meta: Obj = { ...r.metadata };
  const rv = typeof meta['resourceVersion'] === 'string' && meta['resourceVersion'] !== '' ? meta['resourceVersion'] : undefined;
  if (op === 'create') {
    if (rv !== undefined) return { ok: false, path: 'metadata.resourceVersion', message: 'field must not be set for a Create request' };
    if (!meta['uid']) meta['uid'] = ctx.uid;
    if (!meta['creationTimestamp']) meta['creationTimestamp'] = goTime(ctx.now);
  } else {
    if (rv === undefined) return { ok: false, path: 'metadata.resourceVersion', message: 'field must be set for an Update request' };
    if (!meta['creationTimestamp']) return { ok: false, path: 'metadata.creationTimestamp', message: 'field must be set for an Update request' };
    if (!meta['uid']) return { ok: false, path: 'metadata.uid', message: 'field must be set for an Update request' };
  }
  if (meta['creationTimestamp']) {
    const t = Date.parse(String(meta['creationTimestamp']));
    if (Number.isNaN(t)) return { ok: false, path: 'metadata.creationTimestamp', message: `not an RFC 3339 time: ${String(meta['creationTimestamp'])}` };
    meta['creationTimestamp'] = goTime(new Date(t));
  }
  delete meta['resourceVersion'];
  delete meta['selfLink'];
  const spec: Obj = { ...(r.spec as Obj) };
  let keyName = name;
  const namespace = isNamespacedKind(r.kind) ? (typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : DEFAULT_NAMESPACE) : undefined;
  if (namespace !== undefined) meta['namespace'] = namespace;
  if (r.kind === 'GlobalNetworkPolicy' || r.kind === 'StagedGlobalNetworkPolicy') {
    const tier = typeof spec['tier'] === 'string' && spec['tier'] !== '' ? spec['tier'] : 'default';
    spec['tier'] = tier; // the CRD default, applied in etcd mode
    const types = spec['types'];
    // A staged delete stores no types (Calico's client clears them).
    if (r.kind === 'StagedGlobalNetworkPolicy' && r.spec.stagedAction === 'Delete') delete spec['types'];
    else if (!Array.isArray(types) || types.length === 0) spec['types'] = defaultPolicyTypes(r.spec);
    meta['labels'] = { ...(isObj(meta['labels']) ? meta['labels'] : {}), [TIER_LABEL]: tier };
    meta['annotations'] = { ...(isObj(meta['annotations']) ? meta['annotations'] : {}), [METADATA_ANNOTATION]: `{"name":${goQuote(name)}}` };
    if (options.legacyKey && tier === 'default') {
      keyName = `${LEGACY_PREFIX}${name}`;
      meta['name'] = keyName;
    }
  } else if (r.kind === 'Tier') {
    spec['order'] ??= 1_000_000;
    spec['defaultAction'] ??= 'Deny';
  } else if (r.kind === 'FelixConfiguration') {
    applyFelixDefaults(spec);
  }
  const object = { kind: r.kind, apiVersion: API_VERSION, metadata: meta, spec };
  return { ok: true, key: resourceKey(r.kind, keyName, namespace), value: storedJSON(object), revision: rv };
}

/** clientv3's setDefaults for FelixConfiguration plus the CRD defaults etcd mode applies. */
function applyFelixDefaults(spec: Obj): void {
  spec['floatingIPs'] ??= 'Disabled';
  spec['bpfConnectTimeLoadBalancing'] ??= 'TCP';
  spec['bpfHostNetworkedNATWithoutCTLB'] ??= 'Enabled';
  if (spec['bpfConnectTimeLoadBalancingEnabled'] !== undefined) {
    spec['bpfHostNetworkedNATWithoutCTLB'] = 'Disabled';
    spec['bpfConnectTimeLoadBalancing'] = spec['bpfConnectTimeLoadBalancingEnabled'] === true ? 'Enabled' : 'Disabled';
  }
  spec['nftablesMode'] ??= 'Auto';
  spec['nftablesFlowTableOffload'] ??= 'Disabled';
}

/** json.Marshal of the typed v3 object (kind taken from the object). */
export function storedJSON(object: { kind: string } & Obj): string {
  const shape = KIND_SHAPES[object.kind];
  if (!shape) throw new Error(`no Go shape for kind ${object.kind}`);
  return goMarshal(object, shape);
}
