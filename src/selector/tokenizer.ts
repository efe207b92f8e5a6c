// Owns the lexical layer of the Calico selector language:
// turning selector text into tokens, one at a time, with their offsets.
//
// The lexer is pulled by the parser rather than run to completion first, so the
// leftmost problem in the input is the one reported. The set of accepted inputs
// is the same as Calico's eager tokenizer because the parser always pulls
// through to end of input before succeeding.

import { SelectorSyntaxError, describeChar } from "./errors.ts";

export const MAX_LABEL_LENGTH = 512;

export type TokenKind =
  | "label"
  | "string"
  | "=="
  | "!="
  | "!"
  | "&&"
  | "||"
  | "("
  | ")"
  | "{"
  | "}"
  | ","
  | "contains"
  | "starts with"
  | "ends with"
  | "in"
  | "not in"
  | "has()"
  | "all()"
  | "global()"
  | "eof";

export interface Token {
  readonly kind: TokenKind;
  /** Label name for "label" and "has()", literal contents for "string", otherwise "". */
  readonly value: string;
  /** Offset of the token's first character (input length for "eof"). */
  readonly start: number;
}

const SPACE = 0x20;
const TAB = 0x09;

/** True for the characters a label may contain: [A-Za-z0-9_./-]. */
export function isLabelChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e || // .
    c === 0x2f || // /
    c === 0x2d // -
  );
}

// Word operators, tried in Calico's order; "not in" must precede "in".
const WORD_OPERATORS: ReadonlyArray<readonly [TokenKind, readonly string[]]> = [
  ["contains", ["contains"]],
  ["starts with", ["starts", "with"]],
  ["ends with", ["ends", "with"]],
  ["not in", ["not", "in"]],
  ["in", ["in"]],
];

const FUNCTIONS: ReadonlyArray<readonly [TokenKind, string]> = [
  ["all()", "all("],
  ["global()", "global("],
];

export class Lexer {
  private pos = 0;
  // Word operators are only recognised straight after a label, so the lexer
  // must remember what it produced last.
  private last: Token | undefined;

  constructor(private readonly input: string) {}

  next(): Token {
    const tok = this.scan();
    this.last = tok;
    return tok;
  }

  private scan(): Token {
    const input = this.input;
    this.pos = this.skipBlanks(this.pos);
    const start = this.pos;
    if (start >= input.length) return { kind: "eof", value: "", start };
    const c = input.charCodeAt(start);
    switch (c) {
      case 0x28: return this.punct("(", 1);
      case 0x29: return this.punct(")", 1);
      case 0x7b: return this.punct("{", 1);
      case 0x7d: return this.punct("}", 1);
      case 0x2c: return this.punct(",", 1);
      case 0x22: // "
      case 0x27: { // '
        // No escapes: the literal simply runs to the next quote of the same kind.
        const close = input.indexOf(input[start] ?? "", start + 1);
        if (close < 0) throw new SelectorSyntaxError("unterminated string", start);
        this.pos = close + 1;
        return { kind: "string", value: input.slice(start + 1, close), start };
      }
      case 0x3d: return this.double("==", "'=='");
      case 0x26: return this.double("&&", "'&&'");
      case 0x7c: return this.double("||", "'||'");
      case 0x21:
        return input.charCodeAt(start + 1) === 0x3d ? this.punct("!=", 2) : this.punct("!", 1);
    }
    if (this.last?.kind === "label") return this.wordOperator(this.last.value);
    if (input.startsWith("has(", start)) return this.hasFunction();
    for (const [kind, opener] of FUNCTIONS) {
      if (input.startsWith(opener, start)) return this.emptyFunction(kind, opener);
    }
    const label = this.cutLabel(start);
    if (label === "") throw this.unexpectedChar(start);
    this.pos = start + label.length;
    return { kind: "label", value: label, start };
  }

  private punct(kind: TokenKind, length: number): Token {
    const start = this.pos;
    this.pos += length;
    return { kind, value: "", start };
  }

  private double(kind: "==" | "&&" | "||", hint: string): Token {
    const start = this.pos;
    if (this.input.charCodeAt(start + 1) === this.input.charCodeAt(start)) return this.punct(kind, 2);
    // A lone '=', '&' or '|' is never valid, so point at it rather than at what follows.
    throw new SelectorSyntaxError(`unexpected ${describeChar(this.input, start)} (did you mean ${hint}?)`, start);
  }

  private wordOperator(label: string): Token {
    const start = this.pos;
    for (const [kind, words] of WORD_OPERATORS) {
      const end = this.matchWords(start, words);
      if (end >= 0) {
        this.pos = end;
        return { kind, value: "", start };
      }
    }
    if (!isLabelChar(this.input.charCodeAt(start))) throw this.unexpectedChar(start);
    throw new SelectorSyntaxError(
      `expected an operator after label '${label}' (==, !=, contains, starts with, ends with, in, not in)`,
      start,
    );
  }

  // Multi-word operators accept any run of blanks between words, even none,
  // which is why "startswith" and "notin" are valid. The last word must end at
  // a word boundary so that e.g. "a inx" is not read as "a in x".
  private matchWords(from: number, words: readonly string[]): number {
    let p = from;
    for (let i = 0; i < words.length; i++) {
      const word = words[i] ?? "";
      if (!this.input.startsWith(word, p)) return -1;
      p += word.length;
      if (i < words.length - 1) p = this.skipBlanks(p);
    }
    return isLabelChar(this.input.charCodeAt(p)) ? -1 : p;
  }

  private hasFunction(): Token {
    const start = this.pos;
    const labelStart = this.skipBlanks(start + 4);
    const label = this.cutLabel(labelStart);
    if (label === "") {
      if (this.input.charCodeAt(labelStart) === 0x29) {
        throw new SelectorSyntaxError("expected a label name inside has()", labelStart);
      }
      throw this.unexpectedChar(labelStart, "expected a label name after 'has('");
    }
    const close = this.skipBlanks(labelStart + label.length);
    if (this.input.charCodeAt(close) !== 0x29) {
      throw this.unexpectedChar(close, `expected ')' to close 'has(${label}'`);
    }
    this.pos = close + 1;
    return { kind: "has()", value: label, start };
  }

  private emptyFunction(kind: TokenKind, opener: string): Token {
    const start = this.pos;
    const close = this.skipBlanks(start + opener.length);
    if (this.input.charCodeAt(close) !== 0x29) {
      throw this.unexpectedChar(close, `expected ')' after '${opener}' (${kind} takes no arguments)`);
    }
    this.pos = close + 1;
    return { kind, value: "", start };
  }

  /** Returns the label starting at `from` ("" if none), enforcing the length limit. */
  private cutLabel(from: number): string {
    let end = from;
    while (end < this.input.length && isLabelChar(this.input.charCodeAt(end))) end++;
    if (end - from > MAX_LABEL_LENGTH) {
      throw new SelectorSyntaxError(
        `label is too long (${end - from} characters, the maximum is ${MAX_LABEL_LENGTH})`,
        from,
      );
    }
    return this.input.slice(from, end);
  }

  // Only space and tab count as whitespace in selectors; newlines are errors.
  private skipBlanks(from: number): number {
    let p = from;
    for (;;) {
      const c = this.input.charCodeAt(p);
      if (c !== SPACE && c !== TAB) return p;
      p++;
    }
  }

  /**
   * A character that cannot start any token is the real problem, whatever was
   * expected; otherwise `expected` (if given) explains what should be there.
   */
  private unexpectedChar(at: number, expected?: string): SelectorSyntaxError {
    const c = this.input.charCodeAt(at);
    if (c === 0x0a) return new SelectorSyntaxError("newline is not allowed in a selector", at);
    if (expected !== undefined && (at >= this.input.length || startsToken(c))) {
      return new SelectorSyntaxError(expected, at);
    }
    if (at >= this.input.length) return new SelectorSyntaxError("unexpected end of input", at);
    return new SelectorSyntaxError(`unexpected ${describeChar(this.input, at)}`, at);
  }
}

function startsToken(c: number): boolean {
  return isLabelChar(c) || "()\"'{},=!&|".includes(String.fromCharCode(c)) || c === SPACE || c === TAB;
}

export type TokenizeResult =
  | { ok: true; tokens: Token[] }
  | { ok: false; error: string; position: number };

/** Tokenizes the whole input eagerly (ending with an "eof" token); used by tests and tools. */
export function tokenize(input: string): TokenizeResult {
  const lexer = new Lexer(input);
  const tokens: Token[] = [];
  try {
    for (;;) {
      const tok = lexer.next();
      tokens.push(tok);
      if (tok.kind === "eof") return { ok: true, tokens };
    }
  } catch (e) {
    if (e instanceof SelectorSyntaxError) return { ok: false, error: e.message, position: e.position };
    throw e;
  }
}
