/**
 * Each HEP's labels (own and inherited), and label → value → HEPs.
 *
 * Kept apart from the policy matching (policy-matches.ts) because it is the one part that grows
 * with the fleet: a policy selector that requires `k == v` (or `k in {...}`) is evaluated only
 * against the HEPs that have such a value, instead of against every HEP, so adding a policy for
 * one host costs one host's work at 10,000 hosts.
 */
import type { Labels, SelectorNode } from '../selector/index.ts';

export class LabelIndex {
  private readonly hepLabels = new Map<string, Labels>();
  private readonly byLabel = new Map<string, Map<string, Set<string>>>();

  /** The HEP's labels as last set; undefined for a HEP not indexed. */
  labels(hep: string): Labels | undefined {
    return this.hepLabels.get(hep);
  }

  /** Replaces the HEP's labels; undefined forgets the HEP. */
  set(hep: string, labels: Labels | undefined): void {
    for (const [k, v] of Object.entries(this.hepLabels.get(hep) ?? {})) {
      const byValue = this.byLabel.get(k);
      const set = byValue?.get(v);
      if (!set) continue;
      set.delete(hep);
      // Label values come and go with HEPs (a host name each): no empty entry is kept.
      if (set.size === 0) byValue!.delete(v);
      if (byValue!.size === 0) this.byLabel.delete(k);
    }
    if (!labels) {
      this.hepLabels.delete(hep);
      return;
    }
    this.hepLabels.set(hep, labels);
    for (const [k, v] of Object.entries(labels)) {
      let byValue = this.byLabel.get(k);
      if (!byValue) this.byLabel.set(k, (byValue = new Map()));
      let set = byValue.get(v);
      if (!set) byValue.set(v, (set = new Set()));
      set.add(hep);
    }
  }

  /** The HEPs a selector can match: those with a label value it requires, or every HEP. */
  candidates(tree: SelectorNode | undefined): Iterable<string> {
    const req = tree && requiredValues(tree);
    if (!req) return this.hepLabels.keys();
    const out = new Set<string>();
    for (const v of req.values) for (const h of this.byLabel.get(req.label)?.get(v) ?? []) out.add(h);
    return out;
  }
}

/** A label and the values one of which any match must have (`k == v`, `k in {…}`, or such a term of an `&&`). */
function requiredValues(n: SelectorNode): { label: string; values: readonly string[] } | undefined {
  if (n.kind === 'value' && n.op === '==') return { label: n.label, values: [n.value] };
  if (n.kind === 'set' && n.op === 'in') return { label: n.label, values: n.values };
  if (n.kind === 'and') {
    for (const o of n.operands) {
      const r = requiredValues(o);
      if (r) return r;
    }
  }
  return undefined;
}
