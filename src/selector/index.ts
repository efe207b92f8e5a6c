// Owns the public surface of the selector language. Other modules import only
// from here; the tokenizer, parser, AST and compiler are internal.

import { canonicalString, selectorId } from "./canonical.ts";
import { SelectorSyntaxError } from "./errors.ts";
import { compile } from "./evaluate.ts";
import { parse } from "./parser.ts";

export { formatSelectorError } from "./errors.ts";
export {
  andOf,
  hasLabel,
  labelIn,
  notNode,
  parseSelectorTree,
  prefixLabels,
  replaceKind,
  selectorText,
  type SelectorNode,
} from "./rewrite.ts";

export type Labels = Readonly<Record<string, string>>;

export interface Selector {
  /** Calico's canonical rendering; equal selectors have equal canonical strings. */
  readonly canonical: string;
  /** "s:<base64url SHA-224>", Calico's UniqueID, used to name IP sets. */
  readonly id: string;
  evaluate(labels: Labels): boolean;
}

export type SelectorParseResult =
  | { ok: true; selector: Selector }
  | { ok: false; error: string; position: number };

/** Parses a selector once; the result can be evaluated any number of times. Never throws. */
export function parseSelector(input: string): SelectorParseResult {
  try {
    const ast = parse(input);
    const canonical = canonicalString(ast);
    const selector: Selector = Object.freeze({ canonical, id: selectorId(canonical), evaluate: compile(ast) });
    return { ok: true, selector };
  } catch (e) {
    if (e instanceof SelectorSyntaxError) return { ok: false, error: e.message, position: e.position };
    // Last resort: a bug here must be a refused selector, never an exception in a caller's loop.
    return { ok: false, error: `internal error while parsing the selector: ${(e as Error)?.message ?? String(e)}`, position: 0 };
  }
}
