// Checks a parsed value (from JSON.parse or YAML) against the nesting and collection limits
// without recursion, so that the recursive code that runs next (null dropping, field decoding,
// the schemas, Go-style JSON output) only ever sees values it can walk safely.
import { MAX_COLLECTION_ITEMS, MAX_DEPTH } from './limits.ts';

export interface BoundsProblem {
  /** Where the limit was hit, from the value's root. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

interface Frame {
  readonly value: unknown;
  readonly depth: number;
  readonly parent: Frame | undefined;
  readonly key: string | number | undefined;
}

function pathOf(frame: Frame): (string | number)[] {
  const out: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) out.push(f.key!);
  return out.reverse();
}

/**
 * The first limit `value` exceeds: nesting deeper than `maxDepth` objects/lists, or a list or
 * object with more than `maxItems` entries. Undefined when within every limit.
 */
export function boundsProblem(
  value: unknown,
  maxDepth: number = MAX_DEPTH,
  maxItems: number = MAX_COLLECTION_ITEMS,
): BoundsProblem | undefined {
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.value;
    if (typeof v !== 'object' || v === null) continue;
    const depth = frame.depth + 1;
    if (depth > maxDepth) {
      return { path: pathOf(frame), message: `nesting deeper than ${maxDepth} levels (limit)` };
    }
    if (Array.isArray(v)) {
      if (v.length > maxItems) {
        return { path: pathOf(frame), message: `list has ${v.length} entries; at most ${maxItems} are allowed (limit)` };
      }
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth, parent: frame, key: i });
      continue;
    }
    if (v instanceof Date) continue;
    const keys = Object.keys(v);
    if (keys.length > maxItems) {
      return { path: pathOf(frame), message: `object has ${keys.length} keys; at most ${maxItems} are allowed (limit)` };
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      stack.push({ value: (v as Record<string, unknown>)[k], depth, parent: frame, key: k });
    }
  }
  return undefined;
}
