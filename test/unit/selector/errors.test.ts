// Parse-error messages and positions, and formatSelectorError's rendering.

import { describe, expect, test } from "bun:test";
import { formatSelectorError, parseSelector } from "../../../src/selector/index.ts";

// [selector, substring of the message, 0-based position]
const errors: ReadonlyArray<readonly [string, string, number]> = [
  ["a == b", "expected string literal after '=='", 5],
  ["a != ", "expected string literal after '!='", 5],
  ["a contains x", "expected string literal after 'contains'", 11],
  ["a starts with )", "expected string literal after 'starts with'", 14],
  ["a = 'b'", "unexpected character '='", 2],
  ["! = 'b'", "unexpected character '='", 2],
  ["a ! = 'b'", "expected an operator after label 'a'", 2],
  ["has(a) & has(b)", "unexpected character '&'", 7],
  ["has(a) | has(b)", "unexpected character '|'", 7],
  ['a == "b', "unterminated string", 5],
  ["a == 'b\"", "unterminated string", 5],
  ['a ==\n"b"', "newline is not allowed", 4],
  ['a == "b"\n', "newline is not allowed", 8],
  ["has(\na)", "newline is not allowed", 4],
  ["a ==\r'b'", "unexpected character U+000D", 4],
  ["a == 'b' %", "unexpected character '%'", 9],
  ["a é 'b'", "unexpected character 'é'", 2],
  ["a == 'b' c", "unexpected trailing input", 9],
  ["has(a))", "unexpected trailing input", 6],
  ["a", "expected an operator after label 'a'", 1],
  ["a b", "expected an operator after label 'a'", 2],
  ["a CONTAINS 'x'", "expected an operator after label 'a'", 2],
  ["has (a)", "no space is allowed between 'has' and '('", 4],
  ["has()", "expected a label name inside has()", 4],
  ["has(a b)", "expected ')' to close 'has(a'", 6],
  ["all(x)", "expected ')' after 'all('", 4],
  ["global(", "expected ')' after 'global('", 7],
  [`${"x".repeat(513)} == 'a'`, "label is too long", 0],
  [`has( ${"x".repeat(513)})`, "label is too long", 5],
  ["a in 'x'", "expected '{' to start a set after 'in'", 5],
  ["a not in b", "expected '{' to start a set after 'not in'", 9],
  ["a in {'x' 'y'}", "expected ',' or '}' in set", 10],
  ["a in {'x',,}", "expected string literal or '}' in set", 10],
  ["a in {'x'", "expected ',' or '}' in set", 9],
  ["(a == 'x'", "expected ')' to close the '(' at offset 0", 9],
  ["'b1' == b", "expected a label, has(<label>), all(), global(), '!' or '('", 0],
  ["!", "but found end of input", 1],
  ["has(a) && ", "but found end of input", 10],
  [")", "but found ')'", 0],
];

describe("error messages and positions", () => {
  for (const [input, message, position] of errors) {
    test(JSON.stringify(input.length > 40 ? input.slice(0, 30) + "…" : input), () => {
      const r = parseSelector(input);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error).toContain(message);
      expect(r.position).toBe(position);
    });
  }

  test("parentheses nested too deeply are an error, not a crash", () => {
    const deep = (n: number) => "(".repeat(n) + "has(a) && has(b)" + ")".repeat(n);
    expect(parseSelector(deep(256)).ok).toBe(true);
    const r = parseSelector(deep(300));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain("nested");
  });
});

describe("formatSelectorError", () => {
  test("message, input and a caret under the position", () => {
    expect(formatSelectorError("a == b", "expected string literal after '=='", 5)).toBe(
      ["invalid selector at offset 5: expected string literal after '=='", "  a == b", "       ^"].join("\n"),
    );
  });

  test("caret at end of input", () => {
    const lines = formatSelectorError("a ==", "x", 4).split("\n");
    expect(lines[2]).toBe("      ^");
  });

  test("tabs are kept so the caret lines up; newlines are shown as a symbol", () => {
    const lines = formatSelectorError("a\t==\nb", "newline is not allowed", 4).split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe("  a\t==\u2424b");
    expect(lines[2]).toBe("   \t  ^");
  });

  test("out-of-range positions are clamped", () => {
    expect(formatSelectorError("ab", "x", 99).split("\n")[2]).toBe("    ^");
    expect(formatSelectorError("ab", "x", -3).split("\n")[2]).toBe("  ^");
  });

  test("long inputs are windowed around the position", () => {
    const input = `${"x".repeat(200)} == b${" && has(y)".repeat(20)}`;
    const pos = input.indexOf("b");
    const [, shown, caret] = formatSelectorError(input, "bad", pos).split("\n") as [string, string, string];
    expect(shown.length).toBeLessThan(90);
    expect(shown.startsWith("  …")).toBe(true);
    expect(shown.endsWith("…")).toBe(true);
    expect(shown[caret.length - 1]).toBe("b");
  });
});
