/**
 * Rendered policy and profile chains, remembered by content between renders, so a change to one
 * set member or one policy does not render the other few thousand rules again, and an unchanged
 * chain comes back as the SAME array (the table writer then compares it by identity).
 *
 * Keyed by (a digest of) the plan rules' JSON plus everything else the rendering depends on (direction,
 * marks, IPv6); only entries used by the latest render are kept (bounded by the plan's size).
 */
import type { TableRule } from './table-model.ts';
import { emptinessKey, expandRules, refersToSplit, type SplitIndex } from './set-split.ts';

export class ChainCache {
  private current = new Map<string, readonly TableRule[]>();
  private next = new Map<string, readonly TableRule[]>();
  private readonly expanded = new WeakMap<readonly TableRule[], { key: string; rules: readonly TableRule[] } | false>();

  rules(key: string, make: () => readonly TableRule[]): readonly TableRule[] {
    const hit = this.next.get(key) ?? this.current.get(key) ?? make();
    this.next.set(key, hit);
    return hit;
  }

  /** The chain with selector-set references rewritten for the two set parts (set-split.ts), memoised by which parts are empty. */
  expand(rules: readonly TableRule[], index: SplitIndex): readonly TableRule[] {
    const memo = this.expanded.get(rules);
    if (memo === false) return rules;
    if (memo === undefined && !rules.some((r) => refersToSplit(r, index))) {
      this.expanded.set(rules, false);
      return rules;
    }
    const key = emptinessKey(rules, index);
    if (memo && memo.key === key) return memo.rules;
    const out = expandRules(rules, index);
    this.expanded.set(rules, { key, rules: out });
    return out;
  }

  /** Call once per render: forgets what that render did not use. */
  sweep(): void {
    this.current = this.next;
    this.next = new Map();
  }
}
