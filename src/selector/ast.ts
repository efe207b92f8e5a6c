// Owns the shape of a parsed selector: the syntax tree the parser produces and
// the evaluator and canonicaliser consume.

/** Operators comparing a label's value with one string literal. */
export type ValueOp = "==" | "!=" | "contains" | "starts with" | "ends with";

/** Operators testing a label's value against a set literal. */
export type SetOp = "in" | "not in";

export type SelectorNode =
  | { readonly kind: "all" }
  | { readonly kind: "global" }
  | { readonly kind: "has"; readonly label: string }
  | { readonly kind: "value"; readonly op: ValueOp; readonly label: string; readonly value: string }
  /** `values` is sorted (UTF-8 byte order) and de-duplicated, as Calico stores it. */
  | { readonly kind: "set"; readonly op: SetOp; readonly label: string; readonly values: readonly string[] }
  | { readonly kind: "not"; readonly operand: SelectorNode }
  /** Always two or more operands; a lone operand is never wrapped. */
  | { readonly kind: "and" | "or"; readonly operands: readonly SelectorNode[] };
