// Owns the canonical text of a selector and its ID.
// Both must match Calico byte for byte: the ID names Felix's IP sets, and the
// canonical string is what Calico prints (ast.go: collectFragments).

import { createHash } from "node:crypto";
import type { SelectorNode } from "./ast.ts";

export function canonicalString(node: SelectorNode): string {
  const parts: string[] = [];
  collect(node, parts);
  return parts.join("");
}

/** "s:" + base64url-without-padding(SHA-224("s:" + canonical)), as hash.MakeUniqueID("s", …). */
export function selectorId(canonical: string): string {
  return "s:" + createHash("sha224").update("s:" + canonical, "utf8").digest("base64url");
}

function collect(node: SelectorNode, out: string[]): void {
  switch (node.kind) {
    case "all":
      out.push("all()");
      return;
    case "global":
      out.push("global()");
      return;
    case "has":
      out.push("has(", node.label, ")");
      return;
    case "value":
      out.push(node.label, " ", node.op, " ", quote(node.value));
      return;
    case "set":
      out.push(node.label, " ", node.op, " {", node.values.map(quote).join(", "), "}");
      return;
    case "not":
      // No parentheses are added: "!(a == 'b')" is canonically `!a == "b"`,
      // which re-parses identically because "!" binds to the whole operation.
      out.push("!");
      collect(node.operand, out);
      return;
    case "and":
    case "or": {
      const sep = node.kind === "and" ? " && " : " || ";
      out.push("(");
      node.operands.forEach((op, i) => {
        if (i > 0) out.push(sep);
        collect(op, out);
      });
      out.push(")");
      return;
    }
  }
}

// There are no escapes, so a value can never contain both quote kinds; pick
// the one that does not occur, preferring double quotes.
function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}
