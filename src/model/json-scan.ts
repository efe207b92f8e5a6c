// A single pass over JSON text, before JSON.parse, for what JSON.parse cannot say: a key that
// appears twice in one object (JSON.parse silently keeps the last; YAML refuses it, and so
// does outpost for both), nesting deeper than the limit and oversized lists. Iterative, so a
// 100k-deep document costs one linear scan. It does not validate the syntax: on text that is
// not JSON it may find nothing, and JSON.parse (or the YAML parser) reports the real error.
import { MAX_COLLECTION_ITEMS, MAX_DEPTH, clip } from './limits.ts';

export interface TextProblem {
  readonly message: string;
  /** 1-based position of the problem in the text. */
  readonly line: number;
  readonly col: number;
  /** Where in the document, from its root. */
  readonly path: readonly (string | number)[];
}

interface Container {
  readonly isObject: boolean;
  /** Keys seen so far (objects). */
  readonly keys: Set<string>;
  /** Current key (objects) or index (lists). */
  at: string | number;
  count: number;
  /** Objects: the next string is a key. */
  wantKey: boolean;
}

/** 1-based line and column (in UTF-16 units) of `offset`. */
export function linePos(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** End (exclusive) of the string literal opening at `start`, or -1 if it never closes. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++; // backslash: skip the escaped character
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

export function scanJSON(text: string, maxDepth = MAX_DEPTH, maxItems = MAX_COLLECTION_ITEMS): TextProblem | undefined {
  const stack: Container[] = [];
  const problem = (offset: number, message: string): TextProblem => ({
    message,
    ...linePos(text, offset),
    path: stack.slice(0, -1).map((c) => c.at),
  });
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    switch (c) {
      case 0x22: {
        // "
        const end = stringEnd(text, i);
        if (end < 0) return undefined;
        const top = stack[stack.length - 1];
        if (top?.isObject && top.wantKey) {
          let key: string;
          try {
            key = JSON.parse(text.slice(i, end)) as string;
          } catch {
            return undefined;
          }
          if (top.keys.has(key)) {
            const p = problem(i, '');
            return {
              ...p,
              path: [...p.path, key],
              message: `duplicate key ${JSON.stringify(clip(key))}: a key may appear only once in an object`,
            };
          }
          top.keys.add(key);
          top.at = key;
          top.wantKey = false;
          if (++top.count > maxItems) return problem(i, `object has more than ${maxItems} keys (limit)`);
        }
        i = end - 1;
        break;
      }
      case 0x7b: // {
      case 0x5b: {
        // [
        const isObject = c === 0x7b;
        stack.push({ isObject, keys: new Set(), at: isObject ? '' : 0, count: 0, wantKey: isObject });
        if (stack.length > maxDepth) return problem(i, `nesting deeper than ${maxDepth} levels (limit)`);
        break;
      }
      case 0x7d: // }
      case 0x5d: // ]
        stack.pop();
        break;
      case 0x2c: {
        // ,
        const top = stack[stack.length - 1];
        if (!top) break;
        if (top.isObject) top.wantKey = true;
        else {
          top.at = (top.at as number) + 1;
          if (++top.count >= maxItems) return problem(i, `list has more than ${maxItems} entries (limit)`);
        }
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}
