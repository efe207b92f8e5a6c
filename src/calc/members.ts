/**
 * The membership index: every object a rule selector can match, with its labels, addresses
 * and named ports (calico-semantics §6.1).
 *
 * Members are ALL HostEndpoints in the datastore (not only this node's: a rule may name a peer
 * host by label) and all GlobalNetworkSets. A HEP contributes its expectedIPs as host routes and
 * inherits labelsToApply from its profiles (its own labels win); a HEP with only an
 * interfaceName contributes no address, so no selector can match it.
 */
import { formatCidr, parseCidr, type Cidr } from '../net/cidr.ts';
import { protocolNumber } from './protocol.ts';
import type { GlobalNetworkSet } from '../model/global-network-set.ts';
import type { HostEndpoint } from '../model/host-endpoint.ts';
import type { Profile } from '../model/profile.ts';

export interface Member {
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly cidrs: readonly Cidr[];
  /** Named ports: name, protocol number, port. */
  readonly ports: readonly { name: string; protocol: number; port: number }[];
}

/** The labels selectors see: own labels, then each profile's labelsToApply in list order (first one wins), as Felix's label inheritance index resolves parents. */
export function endpointLabels(hep: HostEndpoint, profiles: ReadonlyMap<string, Profile>): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const name of hep.spec.profiles ?? []) {
    const applied = profiles.get(name)?.spec.labelsToApply;
    if (!applied) continue;
    for (const [k, val] of Object.entries(applied)) if (!(k in merged)) merged[k] = val;
  }
  return { ...merged, ...(hep.metadata.labels ?? {}) };
}

export function buildMembers(
  heps: readonly HostEndpoint[],
  sets: readonly GlobalNetworkSet[],
  profiles: ReadonlyMap<string, Profile>,
): Member[] {
  const out: Member[] = [];
  for (const hep of heps) {
    const cidrs: Cidr[] = [];
    for (const ip of hep.spec.expectedIPs ?? []) {
      const c = parseCidr(ip);
      if (c) cidrs.push(c);
    }
    out.push({
      key: `HostEndpoint/${hep.metadata.name}`,
      labels: endpointLabels(hep, profiles),
      cidrs,
      ports: (hep.spec.ports ?? []).map((p) => ({ name: p.name, protocol: protocolNumber(p.protocol), port: p.port })),
    });
  }
  for (const gns of sets) {
    const cidrs: Cidr[] = [];
    for (const n of gns.spec.nets ?? []) {
      const c = parseCidr(n);
      if (c) cidrs.push(c);
    }
    out.push({ key: `GlobalNetworkSet/${gns.metadata.name}`, labels: gns.metadata.labels ?? {}, cidrs, ports: [] });
  }
  return out;
}

/** CIDRs of every member a selector matches, as canonical strings split by family. */
export function selectCidrs(members: readonly Member[], sel: (labels: Member['labels']) => boolean): { v4: string[]; v6: string[] } {
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  for (const m of members) {
    if (!sel(m.labels)) continue;
    for (const c of m.cidrs) (c.family === 4 ? v4 : v6).add(formatCidr(c));
  }
  return { v4: [...v4].sort(), v6: [...v6].sort() };
}
