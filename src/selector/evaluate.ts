// Owns selector evaluation: compiling a syntax tree
// once into a closure that matches a label map without allocating.

import type { SelectorNode, ValueOp } from "./ast.ts";

export type Labels = Readonly<Record<string, string>>;
export type Matcher = (labels: Labels) => boolean;

const always: Matcher = () => true;
const never: Matcher = () => false;

// Presence is tested with `typeof v === "string"` rather than `in`: label
// names such as "constructor" or "toString" are valid, and on a plain object
// they would otherwise be found on Object.prototype (whose members are never
// strings).

export function compile(node: SelectorNode): Matcher {
  switch (node.kind) {
    case "all":
    case "global":
      return always;
    case "has": {
      const label = node.label;
      return (labels) => typeof labels[label] === "string";
    }
    case "value":
      return compileValue(node.op, node.label, node.value);
    case "set":
      return compileSet(node.op, node.label, node.values);
    case "not": {
      const inner = compile(node.operand);
      return (labels) => !inner(labels);
    }
    case "and":
      return compileAnd(node.operands.map(compile));
    case "or":
      return compileOr(node.operands.map(compile));
  }
}

function compileValue(op: ValueOp, label: string, value: string): Matcher {
  switch (op) {
    // An absent label reads as undefined, which is never equal to a string:
    // so "==" is false and "!=" is true when the label is missing, as in Calico.
    case "==":
      return (labels) => labels[label] === value;
    case "!=":
      return (labels) => labels[label] !== value;
    case "contains":
      if (value === "") return compileHas(label);
      return (labels) => {
        const v = labels[label];
        return typeof v === "string" && v.includes(value);
      };
    case "starts with":
      if (value === "") return compileHas(label);
      return (labels) => {
        const v = labels[label];
        return typeof v === "string" && v.startsWith(value);
      };
    case "ends with":
      if (value === "") return compileHas(label);
      return (labels) => {
        const v = labels[label];
        return typeof v === "string" && v.endsWith(value);
      };
  }
}

// An empty operand matches every value, so these reduce to a presence test.
function compileHas(label: string): Matcher {
  return (labels) => typeof labels[label] === "string";
}

function compileSet(op: "in" | "not in", label: string, values: readonly string[]): Matcher {
  const inSet = compileMembership(label, values);
  if (op === "in") return inSet;
  // "not in" is true when the label is absent, exactly the negation of "in".
  return (labels) => !inSet(labels);
}

function compileMembership(label: string, values: readonly string[]): Matcher {
  const [first, second] = values;
  if (first === undefined) return never;
  if (second === undefined) return (labels) => labels[label] === first;
  if (values.length === 2) {
    return (labels) => {
      const v = labels[label];
      return v === first || v === second;
    };
  }
  const set: ReadonlySet<string> = new Set(values);
  return (labels) => {
    const v = labels[label];
    return typeof v === "string" && set.has(v);
  };
}

function compileAnd(ms: Matcher[]): Matcher {
  const [a, b, c] = ms;
  if (a === undefined || b === undefined) return a ?? always;
  if (c === undefined) return (labels) => a(labels) && b(labels);
  return (labels) => {
    for (let i = 0; i < ms.length; i++) if (!(ms[i] as Matcher)(labels)) return false;
    return true;
  };
}

function compileOr(ms: Matcher[]): Matcher {
  const [a, b, c] = ms;
  if (a === undefined || b === undefined) return a ?? never;
  if (c === undefined) return (labels) => a(labels) || b(labels);
  return (labels) => {
    for (let i = 0; i < ms.length; i++) if ((ms[i] as Matcher)(labels)) return true;
    return false;
  };
}
