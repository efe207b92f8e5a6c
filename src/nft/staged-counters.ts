/**
 * What staged policies would have done on this host, read from the kernel's counters: the
 * count-only chains (render/staged-chains.ts) in `nft -j list table inet outpost` output. The
 * counters live in the kernel, so they keep counting while the agent is offline or stopped;
 * they start from zero when the table is re-created or a staged policy's chain is rewritten.
 *
 * Per staged policy and direction: packets and bytes of new connections the policy would have
 * allowed, denied, passed to the next tier, logged (a Log rule counts and evaluation goes on),
 * or matched with no rule ("no-match": the tier's end, as an enforced policy would fall to it).
 *
 * The listing is external input (nft's output): it goes through a valibot schema; items that do
 * not fit are skipped, never thrown on, and a listing that is not one gives no counts.
 */
import * as v from 'valibot';
import { STAGED_OUTCOMES, type StagedOutcome } from '../render/staged-chains.ts';
import { stagedChain } from '../render/naming.ts';

export interface PacketsBytes {
  packets: number;
  bytes: number;
}

export interface StagedCount {
  /** The staged policy's name (for a name nft could not carry whole and no plan given: its chain's hashed suffix). */
  policy: string;
  /** "<tier>/<name>" when known (from the plan, or from the no-match rule's comment). */
  key?: string;
  direction: 'ingress' | 'egress';
  wouldAllow: PacketsBytes;
  wouldDeny: PacketsBytes;
  wouldPass: PacketsBytes;
  wouldLog: PacketsBytes;
  noMatch: PacketsBytes;
}

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const CounterSchema = v.object({ counter: v.object({ packets: Count, bytes: Count }) });
const RuleSchema = v.object({
  rule: v.object({
    chain: v.pipe(v.string(), v.maxLength(255)),
    comment: v.optional(v.pipe(v.string(), v.maxLength(1024))),
    expr: v.array(v.unknown()),
  }),
});
const ListingSchema = v.object({ nftables: v.array(v.unknown()) });

const FIELD: Readonly<Record<StagedOutcome, keyof Pick<StagedCount, 'wouldAllow' | 'wouldDeny' | 'wouldPass' | 'wouldLog' | 'noMatch'>>> = {
  'would-allow': 'wouldAllow',
  'would-deny': 'wouldDeny',
  'would-pass': 'wouldPass',
  'would-log': 'wouldLog',
  'no-match': 'noMatch',
};

const CHAIN_RE = /^sp([io])-(.+)$/;
const NO_MATCH_RE = /^no-match: staged (\S+) (?:ingress|egress)$/;

const zero = (): PacketsBytes => ({ packets: 0, bytes: 0 });

/**
 * Counts per staged policy and direction, sorted by policy then direction. With the plan the
 * table was rendered from, every chain is named after its policy exactly (even a long name
 * that nft saw hashed); without it, the chain name says.
 */
export function stagedCounts(listing: unknown, plan?: { readonly staged?: readonly { readonly key: string; readonly name: string }[] | undefined }): StagedCount[] {
  const parsed = v.safeParse(ListingSchema, listing);
  if (!parsed.success) return [];
  const byChain = new Map<string, { key: string; name: string }>();
  for (const p of plan?.staged ?? []) {
    byChain.set(stagedChain('in', p.name), p);
    byChain.set(stagedChain('out', p.name), p);
  }
  const out = new Map<string, StagedCount>();
  for (const item of parsed.output.nftables) {
    // Most of a table is other chains: only a staged chain's rule is worth a schema check.
    const chainName = (item as { rule?: { chain?: unknown } } | null)?.rule?.chain;
    if (typeof chainName !== 'string' || !chainName.startsWith('sp')) continue;
    const r = v.safeParse(RuleSchema, item);
    if (!r.success) continue;
    const { chain, comment, expr } = r.output.rule;
    const m = CHAIN_RE.exec(chain);
    if (!m) continue;
    const outcome = STAGED_OUTCOMES.find((o) => comment?.startsWith(`${o}:`));
    if (!outcome) continue;
    const counter = expr.map((e) => v.safeParse(CounterSchema, e)).find((c) => c.success);
    if (!counter?.success) continue;
    let entry = out.get(chain);
    if (!entry) {
      const known = byChain.get(chain);
      entry = {
        policy: known?.name ?? m[2]!,
        ...(known ? { key: known.key } : {}),
        direction: m[1] === 'i' ? 'ingress' : 'egress',
        wouldAllow: zero(),
        wouldDeny: zero(),
        wouldPass: zero(),
        wouldLog: zero(),
        noMatch: zero(),
      };
      out.set(chain, entry);
    }
    if (entry.key === undefined && outcome === 'no-match') {
      const key = NO_MATCH_RE.exec(comment ?? '')?.[1];
      if (key !== undefined) entry.key = key;
    }
    const field = entry[FIELD[outcome]];
    field.packets += counter.output.counter.packets;
    field.bytes += counter.output.counter.bytes;
  }
  return [...out.values()].sort((a, b) => (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : a.direction < b.direction ? 1 : a.direction > b.direction ? -1 : 0));
}
