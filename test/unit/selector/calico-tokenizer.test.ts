// Calico's tokenizer test vectors, ported as data.
// Source: projectcalico/calico libcalico-go/lib/selector/tokenizer/tokenizer_test.go,
// table `tokenTests` (every entry, in order; `nil` expectations are errors).

import { describe, expect, test } from "bun:test";
import { tokenize, type TokenKind } from "../../../src/selector/tokenizer.ts";

type Tok = readonly [TokenKind, string];
const L = (v: string): Tok => ["label", v];
const S = (v: string): Tok => ["string", v];
const H = (v: string): Tok => ["has()", v];
const K = (k: TokenKind): Tok => [k, ""];
const EOF = K("eof");

const tokenTests: ReadonlyArray<readonly [string, readonly Tok[] | null]> = [
  [`a=="b"`, [L("a"), K("=="), S("b"), EOF]],
  [`a!="b"`, [L("a"), K("!="), S("b"), EOF]],
  [`a != "b"`, [L("a"), K("!="), S("b"), EOF]],
  [`(a=="b")`, [K("("), L("a"), K("=="), S("b"), K(")"), EOF]],
  [`a=="b"`, [L("a"), K("=="), S("b"), EOF]],
  [`label == "value"`, [L("label"), K("=="), S("value"), EOF]],
  [`label contains "value"`, [L("label"), K("contains"), S("value"), EOF]],
  [`contains contains "contains"`, [L("contains"), K("contains"), S("contains"), EOF]],
  [`contains contains 'contains'`, [L("contains"), K("contains"), S("contains"), EOF]],
  [`label contains"value"`, [L("label"), K("contains"), S("value"), EOF]],
  [`label startswith "value"`, [L("label"), K("starts with"), S("value"), EOF]],
  [`label endswith "value"`, [L("label"), K("ends with"), S("value"), EOF]],
  [`label starts with "value"`, [L("label"), K("starts with"), S("value"), EOF]],
  [`startswith starts with "value"`, [L("startswith"), K("starts with"), S("value"), EOF]],
  [`label ends with "value"`, [L("label"), K("ends with"), S("value"), EOF]],
  [`endswith ends with "value"`, [L("endswith"), K("ends with"), S("value"), EOF]],
  [`label starts  with "value"`, [L("label"), K("starts with"), S("value"), EOF]],
  [`label ends  with "value"`, [L("label"), K("ends with"), S("value"), EOF]],
  ["a".repeat(512) + ` == "value"`, [L("a".repeat(512)), K("=="), S("value"), EOF]],
  ["a".repeat(513) + ` == "value"`, null],
  [`label == "value`, null],
  [`label == 'value`, null],
  [`label = "value"`, null],
  [`all(`, null],
  [`global(`, null],
  [`has()`, null],
  [`has(foo`, null],
  [`has( foo `, null],
  [`a == "b" & has(foo)`, null],
  [`a == "b" | has(foo)`, null],
  [`label starts foo "value"`, null],
  [`label inf "value"`, null],
  [`label ends foo "value"`, null],
  [`label ends withs "value"`, null],
  [`label squiggles "value"`, null],
  [
    `a not in "bar" && !has(foo) || b in c`,
    [L("a"), K("not in"), S("bar"), K("&&"), K("!"), H("foo"), K("||"), L("b"), K("in"), L("c"), EOF],
  ],
  [`has(calico/k8s_ns)`, [H("calico/k8s_ns"), EOF]],
  [`has(calico/k8s_ns/role)`, [H("calico/k8s_ns/role"), EOF]],
  [`has(calico/k8s_NS-.1/role)`, [H("calico/k8s_NS-.1/role"), EOF]],
  [
    `calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"`,
    [L("calico/k8s_ns"), K("=="), S("kube-system"), K("&&"), L("k8s-app"), K("=="), S("kube-dns"), EOF],
  ],
  [
    `a  not  in  "bar"  &&  ! has( foo )  ||  b  in  c `,
    [L("a"), K("not in"), S("bar"), K("&&"), K("!"), H("foo"), K("||"), L("b"), K("in"), L("c"), EOF],
  ],
  [
    `a notin"bar"&&!has(foo)||b in"c"`,
    [L("a"), K("not in"), S("bar"), K("&&"), K("!"), H("foo"), K("||"), L("b"), K("in"), S("c"), EOF],
  ],
  [`a not in {}`, [L("a"), K("not in"), K("{"), K("}"), EOF]],
  [`a not in {"a"}`, [L("a"), K("not in"), K("{"), S("a"), K("}"), EOF]],
  [`a not in {"a","B"}`, [L("a"), K("not in"), K("{"), S("a"), K(","), S("B"), K("}"), EOF]],
  [`global()`, [K("global()"), EOF]],
  [`global( )`, [K("global()"), EOF]],
  [`all()`, [K("all()"), EOF]],
  [`all( )`, [K("all()"), EOF]],
];

describe("tokenizer: Calico tokenTests", () => {
  for (const [input, expected] of tokenTests) {
    const name = JSON.stringify(input.length > 60 ? `${input.slice(0, 20)}…(${input.length} chars)` : input);
    if (expected === null) {
      test(`rejects ${name}`, () => {
        const r = tokenize(input);
        expect(r.ok).toBe(false);
      });
    } else {
      test(`tokenizes ${name}`, () => {
        const r = tokenize(input);
        if (!r.ok) throw new Error(`unexpected error: ${r.error} at ${r.position}`);
        expect(r.tokens.map((t): Tok => [t.kind, t.value])).toEqual([...expected]);
      });
    }
  }
});
