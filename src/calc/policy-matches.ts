/**
 * Which policies select which HEPs, both ways: policy → HEPs it matches, HEP → policies matching
 * it. PlanIndex (plan-index.ts) keeps the resources and decides what a change reaches; this owns
 * only the selector relation, so a policy change is matched against the HEPs that can have it
 * (label-index.ts) and a HEP's new labels against every policy, and nothing else is re-evaluated.
 * A policy whose selector does not parse matches nothing but is a candidate for every HEP: its
 * warning belongs in every plan, as in the from-scratch computation.
 */
import type { GlobalNetworkPolicy } from '../model/global-network-policy.ts';
import { parseSelectorTree, type Labels, type Selector } from '../selector/index.ts';
import type { PlanContext } from './node-plan.ts';
import { policySelectorText } from './selector-conversion.ts';
import { LabelIndex } from './label-index.ts';

export class PolicyMatches {
  private readonly labels = new LabelIndex();
  /** HEP name → names of the policies whose selector matches it; and the reverse. */
  private readonly matches = new Map<string, Set<string>>();
  private readonly policyHeps = new Map<string, Set<string>>();
  private readonly policySel = new Map<string, Selector>();
  private readonly invalid = new Set<string>();

  /** `parse` is the index's shared, bounded selector cache. */
  constructor(private readonly parse: PlanContext['parse']) {}

  /** Sets a HEP's labels (own and inherited); rematch() then matches them against the policies. */
  setLabels(hep: string, labels: Labels): void {
    this.labels.set(hep, labels);
  }

  /** A HEP deleted: its labels and every match it was part of are forgotten. */
  dropHep(hep: string): void {
    this.labels.set(hep, undefined);
    for (const p of this.matches.get(hep) ?? []) this.policyHeps.get(p)?.delete(hep);
    this.matches.delete(hep);
  }

  /**
   * Policy `name` is now `policy` (undefined: deleted). `reached` is told every HEP it matched
   * before and every HEP it matches now. True when the change reaches every node: the selector
   * did not parse before, or does not parse now.
   */
  policyChanged(name: string, policy: GlobalNetworkPolicy | undefined, reached: (hep: string) => void): boolean {
    let all = false;
    const before = this.policyHeps.get(name) ?? new Set<string>();
    for (const h of before) {
      this.matches.get(h)?.delete(name);
      reached(h);
    }
    this.policyHeps.delete(name);
    this.policySel.delete(name);
    if (this.invalid.delete(name)) all = true;
    if (!policy) return all;
    const s = this.parse(policySelectorText(policy.spec));
    if (s.error !== undefined) {
      this.invalid.add(name);
      all = true;
    }
    this.policySel.set(name, s.selector);
    const hit = new Set<string>();
    for (const h of this.labels.candidates(s.error === undefined ? parseSelectorTree(policySelectorText(policy.spec)) : undefined)) {
      if (!s.selector.evaluate(this.labels.labels(h)!)) continue;
      hit.add(h);
      this.matchSet(h).add(name);
      reached(h);
    }
    this.policyHeps.set(name, hit);
    return all;
  }

  /** Matches a HEP's current labels against every policy again (its labels changed). */
  rematch(hep: string): void {
    const labels = this.labels.labels(hep);
    if (!labels) return;
    const mine = this.matchSet(hep);
    for (const p of mine) this.policyHeps.get(p)?.delete(hep);
    mine.clear();
    for (const [name, sel] of this.policySel) {
      if (!sel.evaluate(labels)) continue;
      mine.add(name);
      this.policyHeps.get(name)!.add(hep);
    }
  }

  /** The policies that may apply to a HEP, unordered: those matching it and those whose selector does not parse. */
  candidates(hep: string): string[] {
    return [...(this.matches.get(hep) ?? []), ...this.invalid];
  }

  private matchSet(hep: string): Set<string> {
    let s = this.matches.get(hep);
    if (!s) this.matches.set(hep, (s = new Set()));
    return s;
  }
}
