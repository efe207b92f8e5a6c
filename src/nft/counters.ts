/**
 * Packet and byte counters from `nft -j list table inet outpost`, per chain and rule, and what
 * they say about one endpoint's policies (status shows them).
 *
 * An endpoint chain (render/endpoint-chains.ts) evaluates a policy with two rules: a counted
 * jump to the policy's chain (packets that reached the policy) followed by a counted return
 * when the policy accepted (packets it allowed). A tier that ends in Deny has a counted drop
 * (packets no policy of the tier decided). Reading the pair by position, not by comment, keeps
 * working for names whose comments were cut to nft's 127 bytes. A policy chain's own rules
 * carry their origin ("policy <tier>/<name> ingress[<i>]") as comment, each with its counter.
 *
 * The listing is external input: every item is checked for the shape it must have and anything
 * else (a newer nft's extra fields, another table's items) is skipped, never thrown at.
 */
import * as v from 'valibot';

export interface RuleCounter {
  /** Position among the chain's rules (0-based), counted or not. */
  readonly index: number;
  readonly comment?: string;
  readonly packets: number;
  readonly bytes: number;
  /** The rule's verdict: accept, drop, return, jump, goto (or undefined for none). */
  readonly verdict?: 'accept' | 'drop' | 'return' | 'jump' | 'goto';
  /** The chain a jump or goto goes to. */
  readonly target?: string;
}

export interface Traffic {
  readonly packets: number;
  readonly bytes: number;
}

/** chain name → its counted rules, in order. */
export type ChainCounters = ReadonlyMap<string, readonly RuleCounter[]>;

const Num = v.pipe(v.number(), v.minValue(0));
const RuleItem = v.object({
  rule: v.object({
    family: v.optional(v.string()),
    table: v.optional(v.string()),
    chain: v.string(),
    comment: v.optional(v.string()),
    expr: v.array(v.unknown()),
  }),
});
const CounterExpr = v.object({ counter: v.object({ packets: Num, bytes: Num }) });
const TargetExpr = v.object({ target: v.string() });

function verdictOf(expr: readonly unknown[]): Pick<RuleCounter, 'verdict' | 'target'> {
  for (const e of expr) {
    if (typeof e !== 'object' || e === null) continue;
    for (const k of ['accept', 'drop', 'return'] as const) if (k in e) return { verdict: k };
    for (const k of ['jump', 'goto'] as const) {
      if (!(k in e)) continue;
      const t = v.safeParse(TargetExpr, (e as Record<string, unknown>)[k]);
      return t.success ? { verdict: k, target: t.output.target } : { verdict: k };
    }
  }
  return {};
}

/** Counters of every counted rule in the listing (`nft -j list table inet outpost`, parsed); empty for anything else. */
export function chainCounters(listing: unknown): ChainCounters {
  const out = new Map<string, RuleCounter[]>();
  const positions = new Map<string, number>();
  const items = typeof listing === 'object' && listing !== null && Array.isArray((listing as { nftables?: unknown }).nftables) ? (listing as { nftables: unknown[] }).nftables : [];
  for (const item of items) {
    const r = v.safeParse(RuleItem, item);
    if (!r.success) continue;
    const { chain, comment, expr } = r.output.rule;
    if (r.output.rule.table !== undefined && r.output.rule.table !== 'outpost') continue;
    const index = positions.get(chain) ?? 0;
    positions.set(chain, index + 1);
    let counter: Traffic | undefined;
    for (const e of expr) {
      const c = v.safeParse(CounterExpr, e);
      if (c.success) counter = c.output.counter;
    }
    if (!counter) continue;
    const list = out.get(chain) ?? [];
    list.push({ index, ...(comment !== undefined ? { comment } : {}), packets: counter.packets, bytes: counter.bytes, ...verdictOf(expr) });
    out.set(chain, list);
  }
  return out;
}

/** What one endpoint chain counted for one policy (or profile) chain it jumps to. */
export interface PolicyTraffic {
  /** Packets that reached the policy on this endpoint. */
  readonly evaluated: Traffic;
  /** Packets the policy accepted on this endpoint. */
  readonly allowed: Traffic;
}

const ZERO: Traffic = { packets: 0, bytes: 0 };
const add = (a: Traffic, b: Traffic): Traffic => ({ packets: a.packets + b.packets, bytes: a.bytes + b.bytes });

/** Per target chain: what the endpoint chain sent to it and what came back accepted (see the module comment). */
export function jumpsOf(rules: readonly RuleCounter[]): Map<string, PolicyTraffic> {
  const out = new Map<string, PolicyTraffic>();
  rules.forEach((r, i) => {
    if (r.verdict !== 'jump' || r.target === undefined) return;
    const next = rules[i + 1];
    const allowed = next && next.index === r.index + 1 && next.verdict === 'return' ? next : ZERO;
    const prev = out.get(r.target);
    out.set(r.target, { evaluated: add(prev?.evaluated ?? ZERO, r), allowed: add(prev?.allowed ?? ZERO, allowed) });
  });
  return out;
}

/** The counted drops of an endpoint chain by comment ("end of tier X: drop", "no profile matched: drop", ...). */
export function dropsOf(rules: readonly RuleCounter[]): Map<string, Traffic> {
  const out = new Map<string, Traffic>();
  for (const r of rules) {
    if (r.verdict !== 'drop' || r.comment === undefined) continue;
    out.set(r.comment, add(out.get(r.comment) ?? ZERO, r));
  }
  return out;
}

/** Every counted rule of a chain added up (a packet that matched several counted rules is in each). */
export function sumOf(rules: readonly RuleCounter[]): Traffic {
  return rules.reduce((t, r) => add(t, r), ZERO);
}
