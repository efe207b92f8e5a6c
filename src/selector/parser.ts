// Owns the grammar of the Calico selector language:
// a recursive-descent parser from selector text to the syntax tree in ast.ts.
//
//   selector  := <blank> | or_expr
//   or_expr   := and_expr ( "||" and_expr )*
//   and_expr  := operation ( "&&" operation )*
//   operation := "!"* primary
//   primary   := has() | all() | global() | label op string | label (in|not in) set | "(" or_expr ")"

import type { SelectorNode, SetOp, ValueOp } from "./ast.ts";
import { SelectorSyntaxError } from "./errors.ts";
import { Lexer, type Token, type TokenKind } from "./tokenizer.ts";
import { sortedUnique } from "./stringset.ts";

// Calico has no limit, but a JavaScript stack overflow must not escape as an
// exception; real selectors (policy fields are capped at 1 KiB) never get close.
export const MAX_NESTING = 256;

// Policy fields are capped at 1 KiB by validation; this bounds the work for any other caller
// (the selector command, rewritten selectors) while never refusing a real selector.
export const MAX_SELECTOR_CHARS = 64 * 1024;

const ALL: SelectorNode = { kind: "all" };

/** Parses selector text; throws SelectorSyntaxError with the offset of the problem. */
export function parse(input: string): SelectorNode {
  if (input.length > MAX_SELECTOR_CHARS) {
    throw new SelectorSyntaxError(
      `selector is ${input.length} characters; at most ${MAX_SELECTOR_CHARS} are parsed (limit)`,
      MAX_SELECTOR_CHARS,
    );
  }
  return new Parser(input).parseRoot();
}

class Parser {
  private readonly lexer: Lexer;
  private tok: Token;
  private depth = 0;

  constructor(input: string) {
    this.lexer = new Lexer(input);
    this.tok = this.lexer.next();
  }

  parseRoot(): SelectorNode {
    if (this.kind() === "eof") return ALL;
    const node = this.parseOr();
    if (this.kind() !== "eof") {
      const hint = this.kind() === ")" ? " (unbalanced ')')" : " (missing '&&' or '||'?)";
      throw this.error(`unexpected trailing input: ${describe(this.tok)}${hint}`);
    }
    return node;
  }

  // A method rather than a field read: TypeScript would otherwise keep a
  // narrowed kind across advance(), which changes the current token.
  private kind(): TokenKind {
    return this.tok.kind;
  }

  private advance(): Token {
    const tok = this.tok;
    this.tok = this.lexer.next();
    return tok;
  }

  private error(message: string, at: Token = this.tok): SelectorSyntaxError {
    return new SelectorSyntaxError(message, at.start);
  }

  private parseOr(): SelectorNode {
    const first = this.parseAnd();
    if (this.kind() !== "||") return first;
    const operands = [first];
    while (this.kind() === "||") {
      this.advance();
      operands.push(this.parseAnd());
    }
    return { kind: "or", operands };
  }

  private parseAnd(): SelectorNode {
    const first = this.parseOperation();
    if (this.kind() !== "&&") return first;
    const operands = [first];
    while (this.kind() === "&&") {
      this.advance();
      operands.push(this.parseOperation());
    }
    return { kind: "and", operands };
  }

  private parseOperation(): SelectorNode {
    // Any run of "!" collapses to a single negation or none, as in Calico, so
    // "!!has(a)" is canonically "has(a)".
    let negated = false;
    while (this.kind() === "!") {
      negated = !negated;
      this.advance();
    }
    const node = this.parsePrimary();
    return negated ? { kind: "not", operand: node } : node;
  }

  private parsePrimary(): SelectorNode {
    const tok = this.tok;
    switch (tok.kind) {
      case "has()":
        this.advance();
        return { kind: "has", label: tok.value };
      case "all()":
        this.advance();
        return ALL;
      case "global()":
        this.advance();
        return { kind: "global" };
      case "label":
        this.advance();
        return this.parseComparison(tok.value);
      case "(":
        return this.parseParenthesised();
      default:
        throw this.error(
          `expected a label, has(<label>), all(), global(), '!' or '(' but found ${describe(tok)}`,
        );
    }
  }

  private parseParenthesised(): SelectorNode {
    const open = this.advance();
    if (++this.depth > MAX_NESTING) {
      throw this.error(`parentheses are nested more than ${MAX_NESTING} deep`, open);
    }
    const inner = this.parseOr();
    if (this.kind() !== ")") {
      throw this.error(`expected ')' to close the '(' at offset ${open.start} but found ${describe(this.tok)}`);
    }
    this.advance();
    this.depth--;
    return inner;
  }

  private parseComparison(label: string): SelectorNode {
    const op = this.tok;
    switch (op.kind) {
      case "==":
      case "!=":
      case "contains":
      case "starts with":
      case "ends with":
        this.advance();
        return { kind: "value", op: op.kind satisfies ValueOp, label, value: this.expectString(op.kind) };
      case "in":
      case "not in":
        this.advance();
        return { kind: "set", op: op.kind satisfies SetOp, label, values: this.parseSet(op.kind) };
      default: {
        const hint = labelFunctionHint(label, op);
        throw this.error(
          `expected an operator after label '${label}' (==, !=, contains, starts with, ends with, in, not in)` +
            ` but found ${describe(op)}${hint}`,
        );
      }
    }
  }

  private expectString(after: TokenKind): string {
    const tok = this.tok;
    if (tok.kind !== "string") {
      const hint = tok.kind === "label" ? " (values must be quoted)" : "";
      throw this.error(`expected string literal after '${after}' but found ${describe(tok)}${hint}`);
    }
    this.advance();
    return tok.value;
  }

  // set := "{" [ string ( "," string )* [ "," ] ] "}"
  private parseSet(after: SetOp): string[] {
    if (this.kind() !== "{") {
      throw this.error(`expected '{' to start a set after '${after}' but found ${describe(this.tok)}`);
    }
    this.advance();
    const values: string[] = [];
    let afterValue = false;
    while (this.kind() === "string") {
      values.push(this.advance().value);
      afterValue = this.kind() !== ",";
      if (afterValue) break;
      this.advance();
    }
    if (this.kind() !== "}") {
      const wanted = afterValue ? "',' or '}'" : "string literal or '}'";
      throw this.error(`expected ${wanted} in set but found ${describe(this.tok)}`);
    }
    this.advance();
    return sortedUnique(values);
  }
}

function describe(tok: Token): string {
  switch (tok.kind) {
    case "eof":
      return "end of input";
    case "label":
      return `label '${tok.value}'`;
    case "string":
      return `string literal ${quoteForMessage(tok.value)}`;
    case "has()":
      return `has(${tok.value})`;
    default:
      return `'${tok.kind}'`;
  }
}

function quoteForMessage(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

// "has (x)" lexes as the label "has" followed by "(", which is a confusing
// error unless we say why.
function labelFunctionHint(label: string, next: Token): string {
  if (next.kind === "(" && (label === "has" || label === "all" || label === "global")) {
    return ` (no space is allowed between '${label}' and '(')`;
  }
  return "";
}
