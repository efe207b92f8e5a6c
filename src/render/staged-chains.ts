/**
 * Count-only chains for staged policies (docs/staged-policies.md). A staged policy is enforced by
 * nobody; each of its rules becomes the same matches as the enforced rule would have, followed
 * by a counter and, for Allow/Deny/Pass, `return` (the policy's first matching rule decides, so
 * counting stops there); a Log rule counts and falls through, as a Log rule does. The last rule
 * counts what no rule matched. Nothing here accepts, drops, jumps, sets a mark or logs: the
 * endpoint chain jumps in, and the packet comes back with its verdict still to be decided.
 *
 * Counters are attributed by the rule comment, `<outcome>: <origin>`, outcome first so a comment
 * cut at nft's 127 bytes still names it:
 *   would-allow | would-deny | would-pass | would-log | no-match
 * The chain name (naming.ts stagedChain) gives the policy and the direction.
 */
import type { NftExpr } from '../nft/json-types.ts';
import type { PlanAction, PlanPolicy } from '../plan/schema.ts';
import * as x from './expr.ts';
import { renderMatches } from './rule.ts';
import type { TableRule } from './table-model.ts';

export const STAGED_OUTCOMES = ['would-allow', 'would-deny', 'would-pass', 'would-log', 'no-match'] as const;
export type StagedOutcome = (typeof STAGED_OUTCOMES)[number];

const OUTCOME: Readonly<Record<PlanAction, StagedOutcome>> = {
  Allow: 'would-allow',
  Deny: 'would-deny',
  Pass: 'would-pass',
  Log: 'would-log',
};

const COUNT_AND_RETURN: readonly NftExpr[] = Object.freeze([x.counter, x.ret]);
const COUNT_ONLY: readonly NftExpr[] = Object.freeze([x.counter]);

/** The count-only rules of one staged policy and direction; `ipv6: false` renders no IPv6 rule. */
export function stagedChainRules(p: PlanPolicy, dir: 'in' | 'out', ipv6: boolean): TableRule[] {
  const rules = dir === 'in' ? p.ingress : p.egress;
  const out: TableRule[] = [];
  for (const r of rules) {
    const outcome = OUTCOME[r.action];
    const tail = r.action === 'Log' ? COUNT_ONLY : COUNT_AND_RETURN;
    for (const expr of renderMatches(r, tail, ipv6)) out.push({ expr, comment: `${outcome}: ${r.origin}` });
  }
  out.push({ expr: [x.counter, x.ret], comment: `no-match: staged ${p.key} ${dir === 'in' ? 'ingress' : 'egress'}` });
  return out;
}
