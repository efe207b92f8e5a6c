/**
 * Staged policies in a node's plan (docs/staged-policies.md): which StagedGlobalNetworkPolicies
 * each host endpoint would be governed by, per direction, in evaluation order. They are never
 * enforced; the renderer turns them into count-only chains.
 *
 * - Measured: every stagedAction but Delete (a staged delete carries no rules: nothing to count).
 * - Order: as enforced policies (tier order, then order, then name), over their own tier table,
 *   so a staged policy naming a tier no enforced policy uses changes nothing in the enforced
 *   plan (no missing-tier warning, no tier order moved).
 * - Directions: `types` as for an enforced policy (empty: both); measured where the host's
 *   normal filter stage sees new connections, whatever doNotTrack/preDNAT/applyOnForward say.
 */
import type { Resource } from '../model/resource.ts';
import type { Tier } from '../model/tier.ts';
import { isMeasured, type StagedGlobalNetworkPolicy } from '../model/staged-global-network-policy.ts';
import { compareOrderThenName, compareTiers, tierTable, type TierInfo } from './tier-order.ts';

export interface StagedLists {
  ingress: string[];
  egress: string[];
}

/** The plan key of a staged policy: "<tier>/<name>", as for an enforced one (a list of its own). */
export const stagedKey = (p: StagedGlobalNetworkPolicy): string => `${p.spec.tier ?? 'default'}/${p.metadata.name}`;

/** The measured staged policies in evaluation order. `tiers` and `staged` in any order. */
export function sortStaged(tiers: readonly Tier[], staged: readonly StagedGlobalNetworkPolicy[]): StagedGlobalNetworkPolicy[] {
  const measured = staged.filter(isMeasured);
  if (measured.length === 0) return [];
  const table = tierTable([...tiers].sort(byName), measured.map((p) => p.spec.tier ?? 'default'));
  const tierOf = (p: StagedGlobalNetworkPolicy): TierInfo => table.get(p.spec.tier ?? 'default')!;
  return measured.sort(
    (a, b) =>
      compareTiers(tierOf(a), tierOf(b)) ||
      compareOrderThenName({ order: a.spec.order, name: a.metadata.name }, { order: b.spec.order, name: b.metadata.name }),
  );
}

/** sortStaged over a whole resource list. */
export function stagedOf(resources: readonly Resource[]): StagedGlobalNetworkPolicy[] {
  const tiers: Tier[] = [];
  const staged: StagedGlobalNetworkPolicy[] = [];
  for (const r of resources) {
    if (r.kind === 'Tier') tiers.push(r);
    else if (r.kind === 'StagedGlobalNetworkPolicy') staged.push(r);
  }
  return sortStaged(tiers, staged);
}

/** Which directions of one endpoint a staged policy (already known to select it) is measured in. */
export function stagedDirections(p: StagedGlobalNetworkPolicy): { ingress: boolean; egress: boolean } {
  const types = p.spec.types ?? [];
  // A preDNAT policy has no egress (validation refuses egress rules and type Egress for it).
  return { ingress: types.length === 0 || types.includes('Ingress'), egress: !p.spec.preDNAT && (types.length === 0 || types.includes('Egress')) };
}

const byName = (a: { metadata: { name: string } }, b: { metadata: { name: string } }): number =>
  a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
