// Canonical strings and selector IDs beyond Calico's
// own table: ordering of set members, global(), and the ID format.

import { describe, expect, test } from "bun:test";
import { parseSelector } from "../../../src/selector/index.ts";

function canon(input: string): string {
  const r = parseSelector(input);
  if (!r.ok) throw new Error(`${input}: ${r.error}`);
  return r.selector.canonical;
}

function id(input: string): string {
  const r = parseSelector(input);
  if (!r.ok) throw new Error(`${input}: ${r.error}`);
  return r.selector.id;
}

describe("canonical form", () => {
  test("global()", () => expect(canon(" global( ) ")).toBe("global()"));
  test("negated group", () => expect(canon("!(has(a) || has(b))")).toBe("!(has(a) || has(b))"));
  test("set members are sorted in UTF-8 byte order, not UTF-16 order", () => {
    // U+1F600 is encoded with surrogates (0xD83D…) in UTF-16, which sort
    // before U+FFFD, but its UTF-8 bytes (F0…) sort after (EF BF BD).
    expect(canon('a in {"😀", "\uFFFD", "B", "a", ""}')).toBe('a in {"", "B", "a", "\uFFFD", "😀"}');
  });
  test("set members with quotes keep the other quote kind", () => {
    expect(canon(`a in {'"', "'", "x"}`)).toBe(`a in {'"', "'", "x"}`);
  });
});

describe("selector IDs", () => {
  test("format: s: followed by 38 base64url characters (SHA-224, unpadded)", () => {
    expect(id('a == "b"')).toMatch(/^s:[A-Za-z0-9_-]{38}$/);
  });
  test("the same selector written differently has the same ID", () => {
    expect(id("a=='b'&&has(c)")).toBe(id(' a == "b"  &&  has( c ) '));
    expect(id('a in {"y", "x", "x"}')).toBe(id("a in {'x','y',}"));
    expect(id("!!has(a)")).toBe(id("has(a)"));
  });
  test("different selectors have different IDs", () => {
    expect(id('a == "b"')).not.toBe(id('a != "b"'));
    // Grouping is part of the canonical form, so these differ even though they are equivalent.
    expect(id("has(a) && has(b) && has(c)")).not.toBe(id("(has(a) && has(b)) && has(c)"));
  });
  test("empty selector is all()", () => {
    expect(id("")).toBe("s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug");
    expect(id("\t")).toBe(id("all()"));
  });
});
