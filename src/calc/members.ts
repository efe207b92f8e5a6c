/**
 * The membership index: every object a rule selector can match, with its labels, addresses
 * and named ports. What each kind contributes follows the datastore →
 * Felix conversion (libcalico-go syncersv1/updateprocessors) and Felix's label index
 * (felix/labelindex/named_port_index.go):
 *
 * - HostEndpoint (all of them, not only this node's: a rule may name a peer host by label):
 *   expectedIPs as host routes; a HEP with only an interfaceName contributes no address, so no
 *   selector can match it. Named ports from spec.ports. Parents: spec.profiles.
 * - GlobalNetworkSet: spec.nets, its own labels, no parents, no ports.
 * - NetworkSet: spec.nets; its labels plus `projectcalico.org/namespace: <ns>`; parent: the
 *   namespace profile `kns.<ns>` (networksetprocessor), whose labelsToApply carry `pcns.*`.
 * - WorkloadEndpoint: each ipNetworks address as a host route (ipNATs are not members; Felix
 *   leaves them out of IP sets too). Its stored labels, minus any `pcns.`/`pcsa.` key (a pod may
 *   not pretend to be in another namespace), plus `projectcalico.org/serviceaccount` from
 *   spec.serviceAccountName (workloadendpointprocessor). `projectcalico.org/namespace` and
 *   `projectcalico.org/orchestrator` are not added here: Calico's client stores them on every
 *   WEP it writes, and Felix reads them as stored. Parents: spec.profiles (`kns.<ns>`,
 *   `ksa.<ns>.<sa>` for a pod). Named ports from spec.ports; an unnamed (hostPort-only) entry
 *   is skipped, as Felix skips it.
 *
 * Label inheritance is Felix's: own labels first, then each parent's in list order, the first
 * one that has a key wins. A missing profile contributes nothing.
 */
import { parseCidr, type Cidr } from '../net/cidr.ts';
import { canonicalCidrs, unionSorted } from './canonical-cidrs.ts';
import { protocolNumber } from './protocol.ts';
import type { GlobalNetworkSet } from '../model/global-network-set.ts';
import type { HostEndpoint } from '../model/host-endpoint.ts';
import type { NetworkSet } from '../model/network-set.ts';
import type { Profile } from '../model/profile.ts';
import type { WorkloadEndpoint } from '../model/workload-endpoint.ts';
import { namespaceOf } from '../model/namespaced.ts';

export interface Member {
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Parsed on first use (named-port sets, the selector command): the plan's IP sets use v4/v6. */
  readonly cidrs: readonly Cidr[];
  /** The canonical CIDR strings of its addresses by family, sorted and unique (canonical-cidrs.ts). */
  readonly v4: readonly string[];
  readonly v6: readonly string[];
  /** Named ports: name, protocol number, port. */
  readonly ports: readonly { name: string; protocol: number; port: number }[];
}

/** Labels Calico adds (libcalico-go api constants and k8s conversion prefixes). */
export const NAMESPACE_LABEL = 'projectcalico.org/namespace';
export const SERVICE_ACCOUNT_LABEL = 'projectcalico.org/serviceaccount';
export const NAMESPACE_PROFILE_PREFIX = 'kns.';
const INHERITED_ONLY_PREFIXES = ['pcns.', 'pcsa.'];

/** Own labels, then each profile's labelsToApply in list order (first one wins). */
function inherit(own: Readonly<Record<string, string>>, profileNames: readonly string[], profiles: ReadonlyMap<string, Profile>): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const name of profileNames) {
    const applied = profiles.get(name)?.spec.labelsToApply;
    if (!applied) continue;
    for (const [k, val] of Object.entries(applied)) if (!(k in merged)) merged[k] = val;
  }
  return { ...merged, ...own };
}

/** The labels selectors see for a HEP (also used to decide which policies select it). */
export function endpointLabels(hep: HostEndpoint, profiles: ReadonlyMap<string, Profile>): Record<string, string> {
  return inherit(hep.metadata.labels ?? {}, hep.spec.profiles ?? [], profiles);
}

export function networkSetLabels(set: NetworkSet, profiles: ReadonlyMap<string, Profile>): Record<string, string> {
  const ns = namespaceOf(set);
  return inherit({ ...(set.metadata.labels ?? {}), [NAMESPACE_LABEL]: ns }, [`${NAMESPACE_PROFILE_PREFIX}${ns}`], profiles);
}

export function workloadLabels(wep: WorkloadEndpoint, profiles: ReadonlyMap<string, Profile>): Record<string, string> {
  const own: Record<string, string> = {};
  for (const [k, val] of Object.entries(wep.metadata.labels ?? {})) {
    if (!INHERITED_ONLY_PREFIXES.some((p) => k.startsWith(p))) own[k] = val;
  }
  const sa = wep.spec.serviceAccountName;
  if (sa) own[SERVICE_ACCOUNT_LABEL] = sa;
  return inherit(own, wep.spec.profiles ?? [], profiles);
}

function cidrsOf(texts: readonly string[], hostRoutes: boolean): Cidr[] {
  const out: Cidr[] = [];
  for (const t of texts) {
    const c = parseCidr(t);
    if (c) out.push(hostRoutes ? { ...c, len: c.family === 4 ? 32 : 128 } : c);
  }
  return out;
}

type Port = { name: string; protocol: string | number; port: number };
const namedPorts = (ports: readonly Port[] | undefined): Member['ports'] =>
  (ports ?? []).filter((p) => p.name !== '').map((p) => ({ name: p.name, protocol: protocolNumber(p.protocol), port: p.port }));

/** The namespaced kinds, read from a Calico cluster's datastore (or NetworkSet manifests). */
export interface NamespacedMembers {
  readonly networkSets?: readonly NetworkSet[];
  readonly workloadEndpoints?: readonly WorkloadEndpoint[];
}

function member(key: string, labels: Member['labels'], texts: readonly string[], hostRoutes: boolean, ports: Member['ports']): Member {
  const { v4, v6 } = canonicalCidrs(texts, hostRoutes, key);
  let cidrs: Cidr[] | undefined;
  return {
    key,
    labels,
    get cidrs() {
      return (cidrs ??= cidrsOf(texts, hostRoutes));
    },
    v4,
    v6,
    ports,
  };
}

export const hepMember = (hep: HostEndpoint, profiles: ReadonlyMap<string, Profile>): Member =>
  member(`HostEndpoint/${hep.metadata.name}`, endpointLabels(hep, profiles), hep.spec.expectedIPs ?? [], true, namedPorts(hep.spec.ports));

export const globalNetworkSetMember = (gns: GlobalNetworkSet): Member => member(`GlobalNetworkSet/${gns.metadata.name}`, gns.metadata.labels ?? {}, gns.spec.nets ?? [], false, []);

export const networkSetMember = (set: NetworkSet, profiles: ReadonlyMap<string, Profile>): Member =>
  member(`NetworkSet/${namespaceOf(set)}/${set.metadata.name}`, networkSetLabels(set, profiles), set.spec.nets ?? [], false, []);

export const workloadMember = (wep: WorkloadEndpoint, profiles: ReadonlyMap<string, Profile>): Member =>
  member(`WorkloadEndpoint/${namespaceOf(wep)}/${wep.metadata.name}`, workloadLabels(wep, profiles), wep.spec.ipNetworks ?? [], true, namedPorts(wep.spec.ports));

/** The profiles whose labelsToApply a member inherits (a change to one of them changes its labels). */
export function memberParents(r: HostEndpoint | NetworkSet | WorkloadEndpoint): readonly string[] {
  if (r.kind === 'NetworkSet') return [`${NAMESPACE_PROFILE_PREFIX}${namespaceOf(r)}`];
  return r.spec.profiles ?? [];
}

export function buildMembers(
  heps: readonly HostEndpoint[],
  sets: readonly GlobalNetworkSet[],
  profiles: ReadonlyMap<string, Profile>,
  namespaced: NamespacedMembers = {},
): Member[] {
  return [
    ...heps.map((h) => hepMember(h, profiles)),
    ...sets.map(globalNetworkSetMember),
    ...(namespaced.networkSets ?? []).map((s) => networkSetMember(s, profiles)),
    ...(namespaced.workloadEndpoints ?? []).map((w) => workloadMember(w, profiles)),
  ];
}

/**
 * CIDRs of every member a selector matches, as canonical strings split by family, sorted and
 * unique. One matching member (a big GlobalNetworkSet) gives its own lists, no copy.
 */
export function selectCidrs(members: Iterable<Member>, sel: (labels: Member['labels']) => boolean): { v4: string[]; v6: string[] } {
  const v4: (readonly string[])[] = [];
  const v6: (readonly string[])[] = [];
  for (const m of members) {
    if (!sel(m.labels)) continue;
    if (m.v4.length) v4.push(m.v4);
    if (m.v6.length) v6.push(m.v6);
  }
  // Shared, never mutated: the plan is read-only from here on.
  return { v4: unionSorted(v4) as string[], v6: unionSorted(v6) as string[] };
}
