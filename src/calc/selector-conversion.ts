/**
 * libcalico-go's conversion of namespace and service-account fields into the one selector
 * Felix evaluates (updateprocessors/rules.go and
 * globalnetworkpolicyprocessor.go at v3.31.7).
 *
 * Rule side (GetEntityRuleSelector, for a GlobalNetworkPolicy or Profile, i.e. no namespace):
 *   sa   = serviceAccounts.selector with "pcsa." labels, ANDed with
 *          projectcalico.org/serviceaccount in {names}; nothing for an empty `serviceAccounts: {}`
 *   base = (sa) && (selector), or whichever of the two is present
 *   ns   = namespaceSelector with "pcns." labels, all() -> has(projectcalico.org/namespace),
 *          global() -> !has(projectcalico.org/namespace)
 *   positive selector = (ns) && (base), or ns, or base
 * The notSelector stays separate and is folded into the positive set by the rule compiler.
 *
 * Policy side: spec.selector && pcns.(namespaceSelector), then every all() in the result becomes
 * has(projectcalico.org/namespace); then && pcsa.(serviceAccountSelector) with all() ->
 * has(projectcalico.org/serviceaccount). (libcalico-go replaces all() in the WHOLE string, so an
 * explicit `selector: all()` next to a namespaceSelector selects only namespaced endpoints.)
 *
 * HEPs and GlobalNetworkSets carry no pcns./pcsa. labels and no namespace label, so positive
 * forms never match them and negative forms always do; WorkloadEndpoints and NetworkSets in the
 * membership index carry those labels and are matched as Felix matches them.
 */
import { andOf, hasLabel, labelIn, notNode, parseSelectorTree, prefixLabels, replaceKind, selectorText, type SelectorNode } from '../selector/index.ts';
import type { EntityRule } from '../model/rule.ts';

const NAMESPACE_LABEL = 'projectcalico.org/namespace';
const SERVICE_ACCOUNT_LABEL = 'projectcalico.org/serviceaccount';
const NS_PREFIX = 'pcns.';
const SA_PREFIX = 'pcsa.';

/** A tree for selector text; text that does not parse matches nothing (validation should have refused it). */
const tree = (text: string): SelectorNode => parseSelectorTree(text) ?? notNode({ kind: 'all' });
const present = (text: string | undefined): text is string => text !== undefined && text.trim() !== '';

function serviceAccountTree(sa: NonNullable<EntityRule['serviceAccounts']>): SelectorNode | undefined {
  const bySelector = present(sa.selector) ? prefixLabels(tree(sa.selector), SA_PREFIX) : undefined;
  const names = sa.names ?? [];
  if (names.length === 0) return bySelector;
  const byName = labelIn(SERVICE_ACCOUNT_LABEL, names);
  return bySelector ? andOf(bySelector, byName) : byName;
}

/** The positive selector text of one rule side, before the notSelector is folded in; undefined when there is none. */
export function entitySelectorText(e: Pick<EntityRule, 'selector' | 'namespaceSelector' | 'serviceAccounts'>): string | undefined {
  // The common case needs no conversion: the text as written (it runs for every rule of every
  // node, and parsing it again here cost the relay about a third of its plan time).
  if (e.serviceAccounts === undefined && !present(e.namespaceSelector)) return present(e.selector) ? e.selector : undefined;
  const sa = e.serviceAccounts ? serviceAccountTree(e.serviceAccounts) : undefined;
  const sel = present(e.selector) ? tree(e.selector) : undefined;
  const base = sa && sel ? andOf(sa, sel) : (sa ?? sel);
  let ns: SelectorNode | undefined;
  if (present(e.namespaceSelector)) {
    ns = prefixLabels(tree(e.namespaceSelector), NS_PREFIX);
    ns = replaceKind(ns, 'all', hasLabel(NAMESPACE_LABEL));
    ns = replaceKind(ns, 'global', notNode(hasLabel(NAMESPACE_LABEL)));
  }
  const out = ns && base ? andOf(ns, base) : (ns ?? base);
  return out === undefined ? undefined : selectorText(out);
}

/** The selector that decides which endpoints a GlobalNetworkPolicy applies to. */
export function policySelectorText(spec: { selector?: string | undefined; namespaceSelector?: string | undefined; serviceAccountSelector?: string | undefined }): string {
  const own = spec.selector ?? '';
  if (!present(spec.namespaceSelector) && !present(spec.serviceAccountSelector)) return own;
  let out: SelectorNode | undefined = present(own) ? tree(own) : undefined;
  const append = (text: string, prefix: string, allBecomes: string) => {
    const prefixed = prefixLabels(tree(text), prefix);
    out = replaceKind(out ? andOf(out, prefixed) : prefixed, 'all', hasLabel(allBecomes));
  };
  if (present(spec.namespaceSelector)) append(spec.namespaceSelector, NS_PREFIX, NAMESPACE_LABEL);
  if (present(spec.serviceAccountSelector)) append(spec.serviceAccountSelector, SA_PREFIX, SERVICE_ACCOUNT_LABEL);
  return out === undefined ? own : selectorText(out);
}
