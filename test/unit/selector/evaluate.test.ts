// Selector evaluation rules as Calico applies them: the present/absent table, empty
// operands, case sensitivity, short-circuiting, and label names that collide
// with Object.prototype members.

import { describe, expect, test } from "bun:test";
import { parseSelector, type Labels, type Selector } from "../../../src/selector/index.ts";

function sel(input: string): Selector {
  const r = parseSelector(input);
  if (!r.ok) throw new Error(`${input}: ${r.error} at ${r.position}`);
  return r.selector;
}

// [selector, labels, expected]
const table: ReadonlyArray<readonly [string, Labels, boolean]> = [
  ['a == "v"', { a: "v" }, true],
  ['a == "v"', { a: "w" }, false],
  ['a == "v"', {}, false],
  ['a == ""', { a: "" }, true],
  ['a == ""', {}, false],
  ['a != "v"', { a: "w" }, true],
  ['a != "v"', { a: "v" }, false],
  ['a != "v"', {}, true],
  ['a != ""', {}, true],
  ['a in {"v", "w"}', { a: "w" }, true],
  ['a in {"v", "w"}', { a: "x" }, false],
  ['a in {"v", "w"}', {}, false],
  ['a in {"v", "w", "x", "y"}', { a: "y" }, true],
  ['a in {"v", "w", "x", "y"}', { a: "z" }, false],
  ['a in {"v", "w", "x", "y"}', {}, false],
  ['a in {""}', { a: "" }, true],
  ["a in {}", { a: "" }, false],
  ["a in {}", {}, false],
  ['a not in {"v", "w"}', { a: "w" }, false],
  ['a not in {"v", "w"}', { a: "x" }, true],
  ['a not in {"v", "w"}', {}, true],
  ['a not in {"v", "w", "x"}', { a: "x" }, false],
  ["a not in {}", { a: "" }, true],
  ["a not in {}", {}, true],
  ['a contains "ell"', { a: "hello" }, true],
  ['a contains "ell"', { a: "help" }, false],
  ['a contains "ell"', {}, false],
  ['a contains ""', { a: "" }, true],
  ['a contains ""', { a: "x" }, true],
  ['a contains ""', {}, false],
  ['a starts with "he"', { a: "hello" }, true],
  ['a starts with "he"', { a: "the" }, false],
  ['a starts with "he"', {}, false],
  ['a starts with ""', { a: "" }, true],
  ['a starts with ""', {}, false],
  ['a ends with "lo"', { a: "hello" }, true],
  ['a ends with "lo"', { a: "lot" }, false],
  ['a ends with "lo"', {}, false],
  ['a ends with ""', { a: "x" }, true],
  ['a ends with ""', {}, false],
  ["has(a)", { a: "" }, true],
  ["has(a)", { a: "v" }, true],
  ["has(a)", { b: "v" }, false],
  ["all()", {}, true],
  ["global()", {}, true],
  ["!all()", { a: "v" }, false],
  ["", {}, true],
  // Case-sensitive, byte-for-byte.
  ['a == "V"', { a: "v" }, false],
  ['A == "v"', { a: "v" }, false],
  ['a contains "L"', { a: "hello" }, false],
  ['a == "é"', { a: "e\u0301" }, false],
  ['a contains "😀"', { a: "x😀y" }, true],
  ['a in {"😀", "\uFFFD", "z"}', { a: "😀" }, true],
  // "!" applies to the whole comparison, so it is true when the label is absent.
  ['!a == "v"', {}, true],
  ['!a != "v"', {}, false],
  ['!a in {"v"}', {}, true],
  ['!a not in {"v"}', {}, false],
  // Groups of three or more operands.
  ['has(a) && has(b) && c == "x"', { a: "", b: "", c: "x" }, true],
  ['has(a) && has(b) && c == "x"', { a: "", c: "x" }, false],
  ['has(a) || has(b) || c == "x"', { c: "x" }, true],
  ['has(a) || has(b) || c == "x"', { c: "y" }, false],
];

describe("evaluation table", () => {
  for (const [input, labels, expected] of table) {
    test(`${input} on ${JSON.stringify(labels)} is ${expected}`, () => {
      expect(sel(input).evaluate(labels)).toBe(expected);
    });
  }
});

describe("label names shared with Object.prototype", () => {
  const names = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"];
  for (const name of names) {
    test(`${name} is absent from a plain object`, () => {
      expect(sel(`has(${name})`).evaluate({})).toBe(false);
      expect(sel(`${name} != "x"`).evaluate({})).toBe(true);
      expect(sel(`${name} not in {"x"}`).evaluate({})).toBe(true);
      expect(sel(`${name} contains ""`).evaluate({})).toBe(false);
    });
  }
  test("an own __proto__ key (as JSON.parse produces) is present", () => {
    const labels = JSON.parse('{"__proto__": "x"}') as Labels;
    expect(sel('__proto__ == "x"').evaluate(labels)).toBe(true);
    expect(sel("has(__proto__)").evaluate(labels)).toBe(true);
  });
  test("null-prototype label maps work", () => {
    const labels: Record<string, string> = Object.create(null) as Record<string, string>;
    labels["a"] = "v";
    expect(sel('a == "v" && !has(constructor)').evaluate(labels)).toBe(true);
  });
});

describe("short-circuiting", () => {
  // A proxy records which labels were looked up.
  function recording(labels: Record<string, string>): { labels: Labels; reads: string[] } {
    const reads: string[] = [];
    const proxy = new Proxy(labels, {
      get(target, key) {
        if (typeof key === "string") reads.push(key);
        return Reflect.get(target, key);
      },
    });
    return { labels: proxy, reads };
  }

  test("&& stops at the first false operand", () => {
    const r = recording({ b: "x" });
    expect(sel('a == "x" && b == "x" && c == "x"').evaluate(r.labels)).toBe(false);
    expect(r.reads).toEqual(["a"]);
  });

  test("|| stops at the first true operand", () => {
    const r = recording({ a: "x" });
    expect(sel('a == "x" || b == "x"').evaluate(r.labels)).toBe(true);
    expect(r.reads).toEqual(["a"]);
  });
});

test("a parsed selector can be evaluated repeatedly against many label sets", () => {
  const s = sel('(role in {"db", "web"} && env != "dev") || has(debug)');
  const results = [
    { role: "db", env: "prod" },
    { role: "db", env: "dev" },
    { role: "cache" },
    { debug: "" },
    {},
  ].map((l) => s.evaluate(l));
  expect(results).toEqual([true, false, false, true, false]);
});
