// Owns rewriting selector trees, for the datastore-to-Felix conversion of namespace and
// service-account selectors. libcalico-go prefixes every
// label of a namespaceSelector with "pcns." (serviceAccount selectors with "pcsa.") using a
// visitor on the parsed selector, then swaps all()/global() for label tests by replacing text
// in the canonical string. Here both steps work on the tree, so a label value that happens to
// contain "all()" is left alone (the only place the two can differ).

import type { SelectorNode } from "./ast.ts";
import { canonicalString } from "./canonical.ts";
import { parse } from "./parser.ts";
import { sortedUnique } from "./stringset.ts";

export type { SelectorNode } from "./ast.ts";

/** The tree of a selector, or undefined if it does not parse (callers decide what that means). */
export function parseSelectorTree(text: string): SelectorNode | undefined {
  try {
    return parse(text);
  } catch {
    // A syntax error, or (a bug) anything else: callers decide what an unparsable selector means.
    return undefined;
  }
}

/** Calico's canonical text of a tree; parsing it gives the same tree back. */
export function selectorText(node: SelectorNode): string {
  return canonicalString(node);
}

/** Every label the tree tests gets `prefix` in front (libcalico-go's PrefixVisitor). */
export function prefixLabels(node: SelectorNode, prefix: string): SelectorNode {
  switch (node.kind) {
    case "all":
    case "global":
      return node;
    case "has":
    case "value":
    case "set":
      return { ...node, label: prefix + node.label };
    case "not":
      return { kind: "not", operand: prefixLabels(node.operand, prefix) };
    case "and":
    case "or":
      return { kind: node.kind, operands: node.operands.map((o) => prefixLabels(o, prefix)) };
  }
}

/** Every all() (or global()) node replaced by `by`. */
export function replaceKind(node: SelectorNode, kind: "all" | "global", by: SelectorNode): SelectorNode {
  switch (node.kind) {
    case "all":
    case "global":
      return node.kind === kind ? by : node;
    case "has":
    case "value":
    case "set":
      return node;
    case "not":
      return { kind: "not", operand: replaceKind(node.operand, kind, by) };
    case "and":
    case "or":
      return { kind: node.kind, operands: node.operands.map((o) => replaceKind(o, kind, by)) };
  }
}

export const hasLabel = (label: string): SelectorNode => ({ kind: "has", label });
export const notNode = (operand: SelectorNode): SelectorNode => ({ kind: "not", operand });
/** `label in {values}`, the values normalised as the parser would. */
export const labelIn = (label: string, values: readonly string[]): SelectorNode => ({ kind: "set", op: "in", label, values: sortedUnique(values) });

/** The conjunction of the given trees, in order; a single tree is returned as is. */
export function andOf(first: SelectorNode, ...rest: SelectorNode[]): SelectorNode {
  return rest.length === 0 ? first : { kind: "and", operands: [first, ...rest] };
}
