// Calico's parser test vectors, ported as data.
// Source: projectcalico/calico libcalico-go/lib/selector/parser/parser_test.go, tables
//   - selectorTests          (selector, labels that must match, labels that must not)
//   - badSelectors           (selectors that must fail to parse)
//   - canonicalisationTests  (input, canonical string, selector UID where Calico gives one)
//   - "Visitor tests" entries (expected output with the "visited/" prefix removed, since we
//     have no visitor; they still pin down canonical parenthesisation and quoting)
// Every entry is present, in Calico's order (duplicates included).

import { describe, expect, test } from "bun:test";
import { parseSelector, type Labels, type Selector } from "../../../src/selector/index.ts";

type SelectorTest = readonly [sel: string, matches: readonly Labels[], nonMatches: readonly Labels[]];

const selectorTests: readonly SelectorTest[] = [
  [`a == "b"`, [{ a: "b" }, { a: "b", c: "d" }], [{}, { a: "c" }, { c: "d" }]],
  [`a == "b" && c == "d"`, [{ a: "b", c: "d" }], [{}, { a: "b", c: "e" }, { a: "c", c: "d" }, { c: "d" }, { a: "b" }]],
  [`a == "b" || c == "d"`, [{ a: "b", c: "d" }, { a: "b" }, { c: "d" }], [{}, { a: "e", c: "e" }, { c: "e" }, { a: "e" }]],
  [`a in {"'", '"', "c"}`, [{ a: "c" }, { a: `"` }, { a: `'` }], [{}, { a: "e" }]],
  [`a not in {"'", '"', "c"}`, [{}, { a: "e" }], [{ a: "c" }, { a: `"` }, { a: `'` }]],

  [`a == 'a'`, [{ a: "a" }], []],
  [`a == "a"`, [{ a: "a" }], []],
  [`a != "b"`, [{ a: "a" }], []],
  [`a != "a"`, [{}], []],
  [`a contains "a"`, [{ a: "a" }, { a: "bab" }, { a: "aaa", b: "c" }], [{}, { a: "b" }, { b: "aaa" }]],
  [`a starts with "a"`, [{ a: "a" }, { a: "abb" }, { a: "aaa", b: "c" }], [{}, { a: "b" }, { a: "baa" }, { b: "aaa" }]],
  [`a ends with "a"`, [{ a: "a" }, { a: "bba" }, { a: "aaa", b: "c" }], [{}, { a: "b" }, { a: "aab" }, { b: "aaa" }]],
  [`a in {"a"}`, [{ a: "a" }], []],
  [`!a in {"a"}`, [{ a: "b" }], []],
  [`a in {"a", "b"}`, [{ a: "a" }], []],
  [`a in {"a", "b"}`, [{ a: "b" }], []],
  [`a not in {"d", "e"}`, [{ a: "a" }], []],
  [`has(a)`, [{ a: "b" }], []],
  [`!has(a)`, [{ b: "b" }], []],
  [``, [{}], []],
  [` `, [{}], []],
  [``, [{ a: "b" }], []],
  [`all()`, [{}], []],
  [` all()`, [{}], []],
  [` all()`, [{ a: "b" }], []],
  [`global()`, [{}], []],
  [` global()`, [{}], []],
  [` global()`, [{ a: "b" }], []],

  [`a == 'a'`, [], [{ a: "b" }]],
  [`a == 'a'`, [], [{}]],
  [`a != "a"`, [], [{ a: "a" }]],
  [`a != 'a'`, [], [{ a: "a" }]],
  [`a in {"a"}`, [], [{ a: "b" }]],
  [`a not in {"a"}`, [], [{ a: "a" }]],
  [`a in {"a", "b"}`, [], [{ a: "c" }]],
  [`has(b)`, [], [{ a: "b" }]],
  [`!!has(b)`, [], [{ a: "b" }]],
  [`! has(a)`, [], [{ a: "b" }]],
  [`!has(a)`, [], [{ a: "b" }]],
  [`!!! has(a)`, [], [{ a: "b" }]],
  [`!!!has(a)`, [], [{ a: "b" }]],
  [`!! ! has(a)`, [], [{ a: "b" }]],
  [`! !!has(a)`, [], [{ a: "b" }]],

  // Boolean expressions...
  [`a == 'a1' && b == 'b1'`, [{ a: "a1", b: "b1" }], []],
  [`a == 'a1' && b != 'b1'`, [], [{ a: "a1", b: "b1" }]],
  [`a != 'a1' && b == 'b1'`, [], [{ a: "a1", b: "b1" }]],
  [`a != 'a1' && b != 'b1'`, [], [{ a: "a1", b: "b1" }]],
  [`a != 'a1' && !b == 'b1'`, [], [{ a: "a1", b: "b1" }]],
  [`!a == 'a1' && b == 'b1'`, [], [{ a: "a1", b: "b1" }]],
  [`has(a) && !has(b)`, [{ a: "a" }], []],
  [`!has(b) && has(a)`, [{ a: "a" }], []],
  [`!(!has(a) || has(b))`, [{ a: "a" }], []],
  [`!(has(b) || !has(a))`, [{ a: "a" }], []],

  [`a == 'a1' || b == 'b1'`, [{ a: "a1", b: "b1" }], []],
  [`a == 'a1' || b != 'b1'`, [{ a: "a1", b: "b1" }], []],
  [`a != 'a1' || b == 'b1'`, [{ a: "a1", b: "b1" }], []],
  [`a != 'a1' || b != 'b1'`, [], [{ a: "a1", b: "b1" }]],
  [`! a == 'a1' || ! b == 'b1'`, [], [{ a: "a1", b: "b1" }]],
];

const badSelectors: readonly string[] = [
  "b == b", // label == label
  "b contains b", // label contains label
  "b starts with b", // label starts with label
  "b ends with b", // label starts with label
  "'b1' == b", // literal on lhs
  "b", // bare label
  "a b", // Garbage
  "!", // Garbage
  `foo == "bar" &`, // Garbage
  `foo == "bar" |`, // Garbage
  `foo != ||`, // Garbage
  `foo in {"", ||`, // Garbage
  `foo in ""`, // Expect set literal
  `"FOO`, // Unterminated string
  `"FOO'`, // Unterminated string
  `"FOO`, // Unterminated string
  `'FOO`, // Unterminated string
  `(`, // Unterminated paren
  `(a == "foo"`, // Unterminated paren
  `)`, // Unterminated paren
  `()`, // Unterminated paren
  `%`, // Unexpected char
  `a == "b" && %`, // Unexpected char
  `a == "b" || %`, // Unexpected char
  `a `, // should be followed by operator
  `has(foo) &&`, // should be followed by operator
];

// [input, expected canonical, expected UID or "" where Calico's table gives none]
const canonicalisationTests: ReadonlyArray<readonly [string, string, string]> = [
  ["", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"],
  [" all() ", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"],
  [" (all() )", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"],
  [`! (has( b)||! has(a ))`, "!(has(b) || !has(a))", "s:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q"],
  [`! (a == "b"&&! c != "d")`, `!(a == "b" && !c != "d")`, "s:lh3haoY1ikTRkd4UZu0nWSaIBknYLPJLX16d-w"],
  [`a == "'"`, `a == "'"`, ""],
  [`a == '"'`, `a == '"'`, ""],
  [`a contains '"'`, `a contains '"'`, ""],
  [`a contains "'"`, `a contains "'"`, ""],
  [`a startswith '"'`, `a starts with '"'`, ""],
  [`a endswith "'"`, `a ends with "'"`, ""],
  [`a!='"'`, `a != '"'`, ""],
  // Set items get sorted/de-duped.
  [`a in {"d"}`, `a in {"d"}`, ""],
  [`a in {"a", "b"}`, `a in {"a", "b"}`, ""],
  [`a in {"d", "a", "b"}`, `a in {"a", "b", "d"}`, ""],
  [`a in {"z", "x", "y", "a"}`, `a in {"a", "x", "y", "z"}`, ""],
  [`a in {"z", "z", "x", "y", "x", "a"}`, `a in {"a", "x", "y", "z"}`, ""],
];

// Visitor table entries, expected output with the "visited/" prefix stripped.
const visitorCanonicalTests: ReadonlyArray<readonly [string, string]> = [
  ["k == 'v'", 'k == "v"'],
  ["k != 'v'", 'k != "v"'],
  ["k contains 'v'", 'k contains "v"'],
  ["k starts with 'v'", 'k starts with "v"'],
  ["k ends with 'v'", 'k ends with "v"'],
  ["k == 'v' && x == 'y'", '(k == "v" && x == "y")'],
  ["k == 'v' || has(x)", '(k == "v" || has(x))'],
  ["!(k == 'v')", '!k == "v"'],
  ["k in {'v'}", 'k in {"v"}'],
  ["k not in {'v'}", 'k not in {"v"}'],
  ["!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))", '!(!((k == "v" && has(t)) || all()) && a in {"b", "c"})'],
];

function mustParse(input: string): Selector {
  const r = parseSelector(input);
  if (!r.ok) throw new Error(`failed to parse ${JSON.stringify(input)}: ${r.error} at ${r.position}`);
  return r.selector;
}

describe("parser: Calico selectorTests", () => {
  selectorTests.forEach(([sel, matches, nonMatches], i) => {
    test(`#${i} ${JSON.stringify(sel)}`, () => {
      const parsed = mustParse(sel);
      // Calico also re-parses the canonical string and expects identical results.
      const reparsed = mustParse(parsed.canonical);
      for (const labels of matches) {
        expect({ labels, match: parsed.evaluate(labels) }).toEqual({ labels, match: true });
        expect({ labels, match: reparsed.evaluate(labels) }).toEqual({ labels, match: true });
      }
      for (const labels of nonMatches) {
        expect({ labels, match: parsed.evaluate(labels) }).toEqual({ labels, match: false });
        expect({ labels, match: reparsed.evaluate(labels) }).toEqual({ labels, match: false });
      }
      expect(parsed.id).toBe(mustParse(sel).id);
    });
  });
});

describe("parser: Calico badSelectors", () => {
  for (const sel of badSelectors) {
    test(`rejects ${JSON.stringify(sel)}`, () => {
      const r = parseSelector(sel);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.length).toBeGreaterThan(0);
        expect(r.position).toBeGreaterThanOrEqual(0);
        expect(r.position).toBeLessThanOrEqual(sel.length);
      }
    });
  }
});

describe("parser: Calico canonicalisationTests", () => {
  for (const [input, canonical, uid] of canonicalisationTests) {
    test(`${JSON.stringify(input)} -> ${canonical}`, () => {
      const sel = mustParse(input);
      expect(sel.canonical).toBe(canonical);
      const roundTripped = mustParse(canonical);
      expect(roundTripped.canonical).toBe(canonical);
      expect(roundTripped.id).toBe(sel.id);
      if (uid !== "") expect(sel.id).toBe(uid);
    });
  }
});

describe("parser: Calico visitor-table canonical forms", () => {
  for (const [input, canonical] of visitorCanonicalTests) {
    test(`${JSON.stringify(input)} -> ${canonical}`, () => {
      expect(mustParse(input).canonical).toBe(canonical);
      expect(mustParse(canonical).canonical).toBe(canonical);
    });
  }
});
