/**
 * The plan's policies and profiles as parts: where each one's canonical text sits in the plan's
 * bytes, so that a changed policy can be decoded on its own (plan-splice.ts decides when).
 *
 * Review notes (the same argument as for set members, one level up):
 * - planLayout writes exactly canonicalJson(plan), part by part (each element at the depth it has
 *   in the plan, so the depth limit is the same), and notes where each element ends. Anything it
 *   cannot write, it leaves to canonicalJson, which names the problem.
 * - spliceParts replaces a run of whole elements of one list: when `[NEW]` is the canonical text of
 *   a JSON array (written one level down, as in the plan), the new plan bytes are the canonical
 *   text of the previous value with those elements replaced, and since the plan schema checks each
 *   element of policies and profiles on its own (v.array(PlanPolicySchema)), validating NEW's
 *   elements with that element schema is the same as validating the whole plan.
 * - Offsets are UTF-16 units of the text, which plan-splice.ts uses as byte offsets only for an
 *   all-ASCII plan; NEW must be ASCII too.
 */
import * as v from 'valibot';
import { NodePlanSchema, type NodePlan } from '../plan/schema.ts';
import { canonicalJsonAt } from './canonical-json.ts';

export type PartKey = 'policies' | 'profiles';
const PART_KEYS: readonly string[] = ['policies', 'profiles'] satisfies PartKey[];

export interface PartList {
  readonly key: PartKey;
  /** Offset of the list's '[' in the plan's text. */
  readonly start: number;
  /** '[' to ']' inclusive. */
  readonly length: number;
  /** ends[i]: offset from `start` of the byte after element i (a ',' or the ']'). */
  readonly ends: Int32Array;
}

export interface PlanLayout {
  /** canonicalJson of the plan. */
  readonly text: string;
  readonly parts: readonly PartList[];
}

/** The canonical text of a parsed plan with its parts; undefined when canonicalJson should say why not. */
export function planLayout(value: unknown): PlanLayout | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  const record = value as Record<string, unknown>;
  try {
    const parts: PartList[] = [];
    let text = '{';
    Object.keys(record).sort().forEach((key, n) => {
      text += `${n > 0 ? ',' : ''}${JSON.stringify(key)}:`;
      const list = record[key];
      if (!PART_KEYS.includes(key) || !Array.isArray(list)) {
        text += canonicalJsonAt(list, 1);
        return;
      }
      const ends = new Int32Array(list.length);
      let part = '[';
      for (let i = 0; i < list.length; i++) {
        part += (i > 0 ? ',' : '') + canonicalJsonAt(list[i], 2);
        ends[i] = part.length;
      }
      parts.push({ key: key as PartKey, start: text.length, length: part.length + 1, ends });
      text += `${part}]`;
    });
    return { text: `${text}}`, parts };
  } catch {
    return undefined;
  }
}

/**
 * The plan with the elements of `list` that cover bytes [p, q) of `old` replaced by what `bytes`
 * holds there, and the list's new layout; undefined when that is not a canonical run of valid
 * elements (the caller decodes in full).
 */
export function spliceParts(list: PartList, plan: NodePlan, old: Uint8Array, bytes: Uint8Array, p: number, q: number): { plan: NodePlan; list: PartList } | undefined {
  const { ends } = list;
  const n = ends.length;
  const was = plan[list.key];
  if (was.length !== n) return undefined;
  const delta = bytes.length - old.length;
  let i = 0;
  let j = -1;
  let segStart = 1;
  let segEnd = 1;
  if (n > 0) {
    i = firstAtLeast(ends, p - list.start);
    j = Math.min(firstAtLeast(ends, q - list.start), n - 1);
    segStart = i === 0 ? 1 : ends[i - 1]! + 1;
    segEnd = ends[j]!;
  }
  const from = list.start + segStart;
  const to = list.start + segEnd + delta;
  if (to < from) return undefined;
  const run = bytes.subarray(from, to);
  for (let k = 0; k < run.length; k++) if (run[k]! >= 0x80) return undefined;
  let added: unknown[] = [];
  if (run.length > 0) {
    const text = `[${new TextDecoder('latin1').decode(run)}]`;
    try {
      const value = JSON.parse(text) as unknown;
      if (!Array.isArray(value) || value.length === 0 || canonicalJsonAt(value, 1) !== text) return undefined;
      added = value;
    } catch {
      return undefined;
    }
  } else if (!(i === 0 && j === n - 1)) {
    return undefined;
  }
  const checked = v.safeParse(NodePlanSchema.entries[list.key], added, { abortEarly: true });
  if (!checked.success) return undefined;
  const m = checked.output.length;
  const next = new Int32Array(n - (j - i + 1) + m);
  next.set(ends.subarray(0, i));
  let pos = segStart;
  for (let t = 0; t < m; t++) {
    pos += canonicalJsonAt(added[t], 2).length;
    next[i + t] = pos;
    pos += 1;
  }
  // NEW's elements must fill exactly the bytes they replaced, or an offset is wrong somewhere.
  if (m > 0 ? pos - 1 !== segEnd + delta : list.length + delta !== 2) return undefined;
  for (let t = j + 1; t < n; t++) next[t - (j + 1) + i + m] = ends[t]! + delta;
  return {
    plan: { ...plan, [list.key]: was.slice(0, i).concat(checked.output, was.slice(j + 1)) },
    list: { ...list, length: list.length + delta, ends: next },
  };
}

/** First index whose value is ≥ x (the array is increasing); ends.length when none is. */
function firstAtLeast(ends: Int32Array, x: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ends[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
