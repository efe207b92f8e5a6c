/**
 * Tier and policy ordering (felix/calc/policy_sorter.go).
 *
 * Valid tiers sort by ascending order (absent = last), ties by name. A tier that policies
 * reference but that does not exist sorts after every valid tier and behaves as Deny. The
 * built-in tiers that Calico's EnsureInitialized creates exist even when no file defines them.
 */
import type { Tier } from '../model/tier.ts';

export interface TierInfo {
  readonly name: string;
  readonly order: number | undefined;
  readonly defaultAction: 'Deny' | 'Pass';
  readonly exists: boolean;
}

const BUILT_IN: readonly TierInfo[] = [
  { name: 'default', order: 1_000_000, defaultAction: 'Deny', exists: true },
  { name: 'kube-admin', order: 1_000, defaultAction: 'Pass', exists: true },
  { name: 'kube-baseline', order: 10_000_000, defaultAction: 'Pass', exists: true },
];

/** Sorts by an optional number where absent means +infinity, then by name. */
export function compareOrderThenName(a: { order: number | undefined; name: string }, b: { order: number | undefined; name: string }): number {
  const ao = a.order ?? Infinity;
  const bo = b.order ?? Infinity;
  if (ao !== bo) return ao < bo ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Every tier by name, built-ins included; `referenced` adds missing tiers (Deny, sorted last). */
export function tierTable(tiers: readonly Tier[], referenced: Iterable<string>): Map<string, TierInfo> {
  const byName = new Map<string, TierInfo>(BUILT_IN.map((t) => [t.name, t]));
  for (const t of tiers) {
    // Felix turns any defaultAction other than Pass into Deny.
    const defaultAction = t.spec.defaultAction === 'Pass' ? 'Pass' : 'Deny';
    byName.set(t.metadata.name, { name: t.metadata.name, order: t.spec.order, defaultAction, exists: true });
  }
  for (const name of referenced) {
    if (!byName.has(name)) byName.set(name, { name, order: undefined, defaultAction: 'Deny', exists: false });
  }
  return byName;
}

export function compareTiers(a: TierInfo, b: TierInfo): number {
  if (a.exists !== b.exists) return a.exists ? -1 : 1;
  return compareOrderThenName(a, b);
}
