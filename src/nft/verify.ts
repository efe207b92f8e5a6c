/**
 * Structural read-back: does the kernel's `inet outpost` table have the chains, rule counts,
 * sets and set sizes of the desired table, and nothing else? Structural, not byte-for-byte,
 * because nft normalises expressions when it lists them (e.g. `meta l4proto tcp th dport`
 * comes back as `tcp dport`). The enforcer runs it at start-up and as an idle audit; after
 * each apply the stamp (stamp.ts) is the cheap proof instead.
 */
export interface Expected {
  readonly chains: ReadonlyMap<string, number>;
  readonly sets: readonly string[];
  /** Set name → member count; sets not listed here are not counted. */
  readonly setSizes?: ReadonlyMap<string, number>;
}

export function verifyListing(listing: unknown, expected: Expected, extraSets: readonly string[] = []): string[] {
  const problems: string[] = [];
  const items = (listing as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(items)) return ['table inet outpost is missing'];
  const ruleCounts = new Map<string, number>();
  const chains = new Set<string>();
  const sets = new Map<string, number>();
  for (const item of items) {
    if (typeof item !== 'object' || item === null) continue;
    const o = item as Record<string, { name?: string; chain?: string; elem?: unknown } | undefined>;
    if (o['chain']?.name) chains.add(o['chain'].name);
    if (o['set']?.name) sets.set(o['set'].name, Array.isArray(o['set'].elem) ? o['set'].elem.length : 0);
    const chain = o['rule']?.chain;
    if (chain) ruleCounts.set(chain, (ruleCounts.get(chain) ?? 0) + 1);
  }
  for (const [chain, count] of expected.chains) {
    if (!chains.has(chain)) problems.push(`chain ${chain} is missing`);
    else if ((ruleCounts.get(chain) ?? 0) !== count) problems.push(`chain ${chain} has ${ruleCounts.get(chain) ?? 0} rules, expected ${count}`);
  }
  for (const c of chains) if (!expected.chains.has(c)) problems.push(`unexpected chain ${c}`);
  for (const s of expected.sets) if (!sets.has(s)) problems.push(`set ${s} is missing`);
  for (const [s, n] of expected.setSizes ?? []) {
    const got = sets.get(s);
    if (got !== undefined && got !== n) problems.push(`set ${s} has ${got} elements, expected ${n}`);
  }
  const known = new Set([...expected.sets, ...extraSets]);
  for (const s of sets.keys()) if (!known.has(s)) problems.push(`unexpected set ${s}`);
  return problems;
}
