// Lexical and grammar rules of the selector language beyond Calico's own
// test tables: whitespace, label and literal rules, word operators, functions,
// negation, set literals and trailing input.

import { describe, expect, test } from "bun:test";
import { parseSelector } from "../../../src/selector/index.ts";

// [selector, canonical form] for inputs that must parse.
const accepted: ReadonlyArray<readonly [string, string]> = [
  // Whitespace is space or tab, anywhere between tokens, including none.
  ['a==\t"b"', 'a == "b"'],
  ['\ta == "b"\t ', 'a == "b"'],
  [" \t ", "all()"],
  // Labels: [A-Za-z0-9_./-], may start with any of them.
  ['1a == "x"', '1a == "x"'],
  ['/a == "x"', '/a == "x"'],
  ['.a == "x"', '.a == "x"'],
  ['-a == "x"', '-a == "x"'],
  ['_ == "x"', '_ == "x"'],
  ["has(example.com/role-name_1)", "has(example.com/role-name_1)"],
  [`has(${"x".repeat(512)})`, `has(${"x".repeat(512)})`],
  // Strings: both quote kinds, no escapes, the other quote kind allowed inside.
  ['a == ""', 'a == ""'],
  ["a == ''", 'a == ""'],
  [`a == "it's"`, `a == "it's"`],
  [`a == 'say "hi"'`, `a == 'say "hi"'`],
  ['a == "x\\"', 'a == "x\\"'],
  ['a == "&& || ( ) { } , ! =="', 'a == "&& || ( ) { } , ! =="'],
  // Calico only rejects newlines between tokens; inside a literal they are kept.
  ['a == "x\ny"', 'a == "x\ny"'],
  // Word operators: any blanks between words, including none; a boundary after.
  ['a startswith "x"', 'a starts with "x"'],
  ['a starts\twith "x"', 'a starts with "x"'],
  ['a endswith "x"', 'a ends with "x"'],
  ['a notin {"x"}', 'a not in {"x"}'],
  ['a not \t in {"x"}', 'a not in {"x"}'],
  ['a in{"x"}', 'a in {"x"}'],
  ['a notin{}', "a not in {}"],
  ['a contains"x"', 'a contains "x"'],
  ["a contains'x'", 'a contains "x"'],
  // Operator words are ordinary labels anywhere except straight after a label.
  ['contains == "x"', 'contains == "x"'],
  ['in in {"in"}', 'in in {"in"}'],
  ['not == "x"', 'not == "x"'],
  ['has == "x"', 'has == "x"'],
  ['all == "x" && global != "y"', '(all == "x" && global != "y")'],
  ['hasx == "x"', 'hasx == "x"'],
  // Functions allow blanks inside the parentheses.
  ["has( x )", "has(x)"],
  ["has(\tx\t)", "has(x)"],
  ["all( )", "all()"],
  ["global(\t)", "global()"],
  // Any number of "!", each toggling.
  ["!!!!has(a)", "has(a)"],
  ["! ! !has(a)", "!has(a)"],
  ["!(a == 'x')", '!a == "x"'],
  ["!!(has(a) && has(b))", "(has(a) && has(b))"],
  // Sets: empty, trailing comma, duplicates.
  ["a in {}", "a in {}"],
  ['a in {"x",}', 'a in {"x"}'],
  ['a not in {"y", "x", "y",}', 'a not in {"x", "y"}'],
  // Precedence: ! > && > ||; groups are not flattened.
  ['a == "1" || b == "2" && c == "3"', '(a == "1" || (b == "2" && c == "3"))'],
  ['(a == "1" && b == "2") && c == "3"', '((a == "1" && b == "2") && c == "3")'],
  ['a == "1" && b == "2" && c == "3"', '(a == "1" && b == "2" && c == "3")'],
  ["((((has(a)))))", "has(a)"],
];

// Inputs that must be rejected.
const rejected: readonly string[] = [
  'a == "b"\n',
  'a ==\r"b"',
  '\na == "b"',
  'a\u00a0== "b"',
  `${"x".repeat(513)} == "a"`,
  `has(${"x".repeat(513)})`,
  'a == "b\'',
  'a = "b"',
  'a ! = "b"',
  '! = "b"',
  "has(a) & has(b)",
  "has(a) | has(b)",
  'a CONTAINS "x"',
  'a In {"x"}',
  'a Not in {"x"}',
  'a inx {"x"}',
  'a not inx {"x"}',
  'a startswithx "x"',
  'a containsx "x"',
  'a starts "x"',
  'a with "x"',
  "has (a)",
  "all ()",
  "global ()",
  "has(a b)",
  'has("a")',
  "all(a)",
  "global(x)",
  "has(a",
  "has(a)b",
  'a in "x"',
  "a in b",
  'a in {"x"',
  "a in {,}",
  'a in {"x",,}',
  'a in {"x" "y"}',
  "a in {x}",
  'a == "b" c == "d"',
  "all() all()",
  "has(a))",
  "(has(a)",
  '"x" == a',
  'a == "x" &&',
  '|| a == "x"',
  'a == "x" && && b == "y"',
  "!!",
  "a ==",
  "a",
  "{}",
  ",",
  'a == "1" ; b == "2"',
];

describe("accepted selectors and their canonical forms", () => {
  for (const [input, canonical] of accepted) {
    test(JSON.stringify(input.length > 60 ? input.slice(0, 40) + "…" : input), () => {
      const r = parseSelector(input);
      if (!r.ok) throw new Error(`${r.error} at ${r.position}`);
      expect(r.selector.canonical).toBe(canonical);
      const again = parseSelector(canonical);
      expect(again.ok && again.selector.id).toBe(r.selector.id);
    });
  }
});

describe("rejected selectors", () => {
  for (const input of rejected) {
    test(JSON.stringify(input.length > 60 ? input.slice(0, 40) + "…" : input), () => {
      const r = parseSelector(input);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.position).toBeGreaterThanOrEqual(0);
        expect(r.position).toBeLessThanOrEqual(input.length);
      }
    });
  }
});
