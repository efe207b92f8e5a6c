// Limits for YAML, in two steps. Before parsing: a cheap scan of the text for flow brackets
// and compact "- - -" runs, so a 100k-deep document is refused without spending seconds in the
// parser. After parsing, before toJS (which recurses): an iterative walk of each document's
// node tree for nesting depth, oversized collections and duplicate keys, the last with the
// same wording as for JSON (json-scan.ts).
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import { MAX_COLLECTION_ITEMS, MAX_DEPTH, clip } from './limits.ts';
import { linePos, type TextProblem } from './json-scan.ts';

/**
 * The prescan refuses only far beyond the limit: it cannot see every YAML subtlety (a "[" at the
 * start of a plain scalar line inside a multi-line value), so a real file must never come near.
 */
const PRESCAN_SLACK = 4;

const isBlank = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Problem if the flow or compact nesting of `text` is far beyond `maxDepth`. */
export function prescanYAML(text: string, maxDepth = MAX_DEPTH, maxItems = MAX_COLLECTION_ITEMS): TextProblem | undefined {
  const limit = maxDepth * PRESCAN_SLACK;
  let flow = 0;
  let lineStart = true;
  let compact = 0;
  // Entries of the open flow lists (commas per level) and of the open block sequences ("- "
  // lines per indentation): a 2-million-entry list would take the parser seconds to build.
  const flowItems: number[] = [];
  const blockItems = new Map<number, number>();
  let indent = 0;
  const tooMany = (at: number): TextProblem => ({ message: `list has more than ${maxItems} entries (limit)`, ...linePos(text, at), path: [] });
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const prev = i === 0 ? 0x0a : text.charCodeAt(i - 1);
    // A token can start after a blank, a flow indicator, or at the start of the text.
    const tokenStart = i === 0 || isBlank(prev) || prev === 0x5b || prev === 0x7b || prev === 0x2c;
    if (c === 0x0a) {
      lineStart = true;
      compact = 0;
      indent = 0;
      // A line that starts in column 0 with anything but a flow indicator or "-" is a new
      // top-level key or a document marker: no flow collection is open any more in valid
      // YAML, so a stray "[" in an earlier plain scalar stops counting here.
      const next = text.charCodeAt(i + 1);
      if ((!isBlank(next) && !'[]{},-#'.includes(text[i + 1] ?? '')) || text.startsWith('---', i + 1)) {
        flow = 0;
        flowItems.length = 0;
      }
      continue;
    }
    if (lineStart && (c === 0x20 || c === 0x09)) {
      indent++;
      continue;
    }
    if (lineStart && compact === 0 && c !== 0x23 && c !== 0x0d) {
      // First character of a line: a "- " at this indentation is one more entry of that
      // sequence; anything else ends the sequences at this indentation and deeper.
      const dash = c === 0x2d && isBlank(text.charCodeAt(i + 1));
      for (const col of blockItems.keys()) if (col > indent || (!dash && col === indent)) blockItems.delete(col);
      if (dash) {
        const n = (blockItems.get(indent) ?? 0) + 1;
        if (n > maxItems) return tooMany(i);
        blockItems.set(indent, n);
      }
    }
    if (c === 0x2d && lineStart && isBlank(text.charCodeAt(i + 1))) {
      // "- " at the start of a line (after indentation or another "- "): one more sequence level.
      if (++compact + flow > limit) return { message: `nesting deeper than ${maxDepth} levels (limit)`, ...linePos(text, i), path: [] };
      continue;
    }
    lineStart = false;
    // Closers count anywhere ("{name: a}"): undercounting is safe, overcounting is not.
    if ((c === 0x5d || c === 0x7d) && flow > 0) {
      flow--;
      flowItems.pop();
      continue;
    }
    if (c === 0x2c && flow > 0) {
      const n = (flowItems[flow - 1] ?? 0) + 1;
      if (n >= maxItems) return tooMany(i);
      flowItems[flow - 1] = n;
      continue;
    }
    if (!tokenStart) continue;
    if (c === 0x23) {
      // A comment runs to the end of the line.
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl - 1;
    } else if (c === 0x22 || c === 0x27) {
      // A quoted scalar: skip to its closing quote ('' and \" do not close).
      let j = i + 1;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (c === 0x22 && d === 0x5c) j++;
        else if (d === c) {
          if (c === 0x27 && text.charCodeAt(j + 1) === 0x27) j++;
          else break;
        }
      }
      i = j;
    } else if (c === 0x5b || c === 0x7b) {
      if (++flow + compact > limit) return { message: `nesting deeper than ${maxDepth} levels (limit)`, ...linePos(text, i), path: [] };
      flowItems[flow - 1] = 0;
    }
  }
  return undefined;
}

type Frame = { readonly node: unknown; readonly depth: number; readonly path: readonly (string | number)[] };

/** Depth, size and duplicate-key problems of one parsed document (iterative; before toJS). */
export function checkYAMLDocument(
  doc: Document.Parsed,
  lines: LineCounter,
  maxDepth = MAX_DEPTH,
  maxItems = MAX_COLLECTION_ITEMS,
): TextProblem | undefined {
  const at = (node: unknown, path: readonly (string | number)[], message: string): TextProblem => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    const pos = range ? lines.linePos(range[0]) : { line: 0, col: 0 };
    return { message, line: pos.line, col: pos.col, path };
  };
  const stack: Frame[] = [{ node: doc.contents, depth: 0, path: [] }];
  while (stack.length > 0) {
    const { node, depth, path } = stack.pop()!;
    if (isSeq(node)) {
      if (depth + 1 > maxDepth) return at(node, path, `nesting deeper than ${maxDepth} levels (limit)`);
      if (node.items.length > maxItems) return at(node, path, `list has ${node.items.length} entries; at most ${maxItems} are allowed (limit)`);
      node.items.forEach((item, i) => stack.push({ node: item, depth: depth + 1, path: [...path, i] }));
    } else if (isMap(node)) {
      if (depth + 1 > maxDepth) return at(node, path, `nesting deeper than ${maxDepth} levels (limit)`);
      if (node.items.length > maxItems) return at(node, path, `object has ${node.items.length} keys; at most ${maxItems} are allowed (limit)`);
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const k = pair.key;
        // Keys are compared as the object's property names will be: `1` and "1" are one key.
        const name = isScalar(k) ? String(k.value) : isAlias(k) ? `*${k.source}` : String(k);
        if (seen.has(name)) {
          return at(k, [...path, name], `duplicate key ${JSON.stringify(clip(name))}: a key may appear only once in an object`);
        }
        seen.add(name);
        if (!isScalar(k) && k !== null) stack.push({ node: k, depth: depth + 1, path: [...path, name] });
        stack.push({ node: pair.value, depth: depth + 1, path: [...path, name] });
      }
    }
  }
  return undefined;
}
