/**
 * Read-back verification: does the kernel's `inet outpost` table have the chains, rule counts
 * and sets that were just applied? Structural, not byte-for-byte, because nft normalises
 * expressions when it lists them (e.g. `meta l4proto tcp th dport` comes back as `tcp dport`).
 */
export interface Expected {
  readonly chains: ReadonlyMap<string, number>;
  readonly sets: readonly string[];
}

export function verifyListing(listing: unknown, expected: Expected): string[] {
  const problems: string[] = [];
  const items = (listing as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(items)) return ['table inet outpost is missing'];
  const ruleCounts = new Map<string, number>();
  const chains = new Set<string>();
  const sets = new Set<string>();
  for (const item of items) {
    if (typeof item !== 'object' || item === null) continue;
    const o = item as Record<string, { name?: string; chain?: string } | undefined>;
    if (o['chain']?.name) chains.add(o['chain'].name);
    if (o['set']?.name) sets.add(o['set'].name);
    const chain = o['rule']?.chain;
    if (chain) ruleCounts.set(chain, (ruleCounts.get(chain) ?? 0) + 1);
  }
  for (const [chain, count] of expected.chains) {
    if (!chains.has(chain)) problems.push(`chain ${chain} is missing`);
    else if ((ruleCounts.get(chain) ?? 0) !== count) problems.push(`chain ${chain} has ${ruleCounts.get(chain) ?? 0} rules, expected ${count}`);
  }
  for (const c of chains) if (!expected.chains.has(c)) problems.push(`unexpected chain ${c}`);
  for (const s of expected.sets) if (!sets.has(s)) problems.push(`set ${s} is missing`);
  return problems;
}
