/**
 * Decoding a v2 plan that differs from the previous one only inside one set's member list,
 * without parsing, canonical-checking or validating the rest again: the agent's cost of a
 * one-member change stays flat in the set's size (issue 12, outcome 3) apart from inflating and
 * hashing, which native code does at about 2 ms per MB.
 *
 *   previous plan bytes  B = head ‖ [m0,…,mi-1, OLD, mj+1,…] ‖ tail     (verified earlier)
 *   new plan bytes       N = head ‖ [m0,…,mi-1, NEW, mj+1,…] ‖ tail     (signature, bound, hash checked)
 *
 * The common head and tail are found by comparing bytes (native memcmp in chunks). When the
 * bytes between them lie inside one ipSets[k].v4 or .v6 list of B, they are widened to whole
 * members (by the member end offsets kept from B), and only NEW is parsed, checked and
 * validated; the new plan is the previous one with those members replaced, sharing every other
 * object with it.
 *
 * Review notes (why the result is exactly what the full decode would give):
 * - N is B with one run of members of one list replaced. When `[NEW]` is, on its own, a JSON array
 *   of strings in canonical form (it equals JSON.stringify of what it parses to), N is canonical
 *   exactly because B was, and JSON.parse(N) is B's value with those members replaced: a JSON
 *   value swapped for another in the same place changes nothing around it.
 * - The plan schema checks each member of v4/v6 on its own (plan/schema.ts: v.array of a string
 *   schema; nothing spans members, lists or the plan), so validating NEW with the same member
 *   schema (IpSetPlanSchema.entries) and keeping the rest of B's validated plan is the same as
 *   validating N. test/unit/protocol/plan-splice.test.ts compares both on random and hostile edits.
 * - Anything else (a change elsewhere, NEW that is not a canonical list of strings or fails the
 *   schema, non-ASCII bytes, any inconsistency) returns undefined and the caller runs the full
 *   decode, which names the reason of a refusal: this path only ever accepts.
 * - Offsets are byte offsets, valid because a basis is only kept for an all-ASCII plan (the
 *   canonical text's length equals its UTF-8 length) and NEW must be ASCII too.
 * - Plans are shared between successive snapshots, so nothing may mutate a decoded plan (nothing
 *   does: render and the agent build new objects).
 */
import * as v from 'valibot';
import { IpSetPlanSchema, type NodePlan } from '../plan/schema.ts';
import { canonicalJson } from './canonical-json.ts';

type Family = 'v4' | 'v6';

interface MemberList {
  /** Index in plan.ipSets. */
  readonly set: number;
  readonly family: Family;
  /** Byte offset of the list's '[' in the plan's bytes. */
  readonly start: number;
  /** Bytes from '[' to ']' inclusive. */
  readonly length: number;
  /** ends[i]: offset from `start` of the byte after member i's closing quote (a ',' or the ']'). */
  readonly ends: Int32Array;
}

/** What a verified v2 plan leaves behind for the next decode. */
export interface PlanBasis {
  /** The inflated canonical plan bytes (verified: their hash was signed). */
  readonly bytes: Uint8Array;
  /** Their validated plan. */
  readonly plan: NodePlan;
  /** The member lists of plan.ipSets, in byte order. */
  readonly lists: readonly MemberList[];
}

/**
 * The basis for a plan that passed the full decode: `value` is what JSON.parse gave for the
 * canonical `text` of `bytes`, `plan` its validated form. Undefined when the plan is not ASCII or
 * has an unexpected shape (the next decode is then a full one).
 */
export function planBasis(bytes: Uint8Array, text: string, value: unknown, plan: NodePlan): PlanBasis | undefined {
  if (text.length !== bytes.length || !isRecord(value) || !Array.isArray(value['ipSets'])) return undefined;
  try {
    const lists: MemberList[] = [];
    // Offsets by the lengths of the canonical texts before each list (the plan's keys sort as
    // …, endpoints, failsafes, ipSets, …: only small parts come before the sets).
    let pos = 1;
    Object.keys(value).sort().forEach((key, n) => {
      pos += (n > 0 ? 1 : 0) + JSON.stringify(key).length + 1;
      pos += key === 'ipSets' ? setsLayout(value[key] as unknown[], pos, plan, lists) : canonicalJson(value[key]).length;
    });
    // The walk must land exactly on the end of the text, or an offset is wrong: no basis then.
    return pos + 1 === text.length ? { bytes, plan, lists } : undefined;
  } catch {
    return undefined;
  }
}

/** The length of the ipSets text that starts at `start`; records its member lists in `lists`. */
function setsLayout(sets: readonly unknown[], start: number, plan: NodePlan, lists: MemberList[]): number {
  let pos = start + 1;
  sets.forEach((set, k) => {
    if (k > 0) pos += 1;
    if (!isRecord(set)) {
      pos += canonicalJson(set).length;
      return;
    }
    pos += 1;
    Object.keys(set).sort().forEach((field, n) => {
      pos += (n > 0 ? 1 : 0) + JSON.stringify(field).length + 1;
      const list = set[field];
      if ((field === 'v4' || field === 'v6') && Array.isArray(list) && list.every((m) => typeof m === 'string')) {
        const ends = memberEnds(list as string[]);
        const length = ends.length ? ends[ends.length - 1]! + 1 : 2;
        if (plan.ipSets[k]?.[field]?.length !== ends.length) throw new Error('the validated plan has another shape');
        lists.push({ set: k, family: field, start: pos, length, ends });
        pos += length;
      } else {
        pos += canonicalJson(list).length;
      }
    });
    pos += 1;
  });
  return pos + 1 - start;
}

/** Offsets (from the '[') of the byte after each member's closing quote, in canonical form. */
function memberEnds(list: readonly string[]): Int32Array {
  const ends = new Int32Array(list.length);
  let pos = 1;
  for (let i = 0; i < list.length; i++) {
    pos += JSON.stringify(list[i]).length;
    ends[i] = pos;
    pos += 1;
  }
  return ends;
}

/**
 * The plan for `bytes` (already hash-checked against a signed header) derived from `basis`, with
 * the basis for the next decode; undefined when the change is not a run of members of one list
 * (the caller then decodes in full).
 */
export function splicePlan(basis: PlanBasis, bytes: Uint8Array): { plan: NodePlan; basis: PlanBasis } | undefined {
  const old = basis.bytes;
  const delta = bytes.length - old.length;
  const p = commonPrefix(old, bytes);
  if (p === old.length && delta === 0) return { plan: basis.plan, basis: { ...basis, bytes } };
  const q = old.length - commonSuffix(old, bytes, Math.min(old.length, bytes.length) - p);
  const at = basis.lists.findIndex((l) => l.start < p && q < l.start + l.length);
  const list = basis.lists[at];
  if (list === undefined) return undefined;
  const { ends } = list;
  const n = ends.length;
  const rp = p - list.start;
  const rq = q - list.start;
  // Members i..j of the old list cover the changed bytes: [segStart, segEnd) from the '['.
  let i = 0;
  let j = -1;
  let segStart = 1;
  let segEnd = 1;
  if (n > 0) {
    i = firstAtLeast(ends, rp);
    j = Math.min(firstAtLeast(ends, rq), n - 1);
    segStart = i === 0 ? 1 : ends[i - 1]! + 1;
    segEnd = ends[j]!;
  }
  const from = list.start + segStart;
  const to = list.start + segEnd + delta;
  if (to < from) return undefined;
  const added = members(bytes.subarray(from, to), i === 0 && j === n - 1);
  if (added === undefined) return undefined;
  const checked = v.safeParse(IpSetPlanSchema.entries[list.family], added, { abortEarly: true });
  if (!checked.success) return undefined;
  const set = basis.plan.ipSets[list.set];
  const was = set?.[list.family];
  if (set === undefined || was === undefined || was.length !== n) return undefined;

  const m = checked.output.length;
  const nextEnds = new Int32Array(n - (j - i + 1) + m);
  nextEnds.set(ends.subarray(0, i));
  let pos = segStart;
  for (let t = 0; t < m; t++) {
    pos += JSON.stringify(checked.output[t]).length;
    nextEnds[i + t] = pos;
    pos += 1;
  }
  // NEW's members must fill exactly the bytes they replaced (else an offset is wrong somewhere).
  if (m > 0 ? pos - 1 !== segEnd + delta : list.length + delta !== 2) return undefined;
  for (let t = j + 1; t < n; t++) nextEnds[t - (j + 1) + i + m] = ends[t]! + delta;
  const lists = basis.lists.map((l, k) =>
    k === at ? { ...l, length: l.length + delta, ends: nextEnds } : l.start > list.start ? { ...l, start: l.start + delta } : l,
  );
  const ipSets = basis.plan.ipSets.slice();
  ipSets[list.set] = { ...set, [list.family]: was.slice(0, i).concat(checked.output, was.slice(j + 1)) };
  const plan: NodePlan = { ...basis.plan, ipSets };
  return { plan, basis: { bytes, plan, lists } };
}

/**
 * The members in `run` (ASCII bytes of zero or more canonical JSON strings separated by commas),
 * or undefined. An empty run is allowed only when it replaces the whole list (`whole`).
 */
function members(run: Uint8Array, whole: boolean): string[] | undefined {
  if (run.length === 0) return whole ? [] : undefined;
  for (let k = 0; k < run.length; k++) if (run[k]! >= 0x80) return undefined;
  const text = `[${new TextDecoder('latin1').decode(run)}]`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every((m) => typeof m === 'string')) return undefined;
  return JSON.stringify(value) === text ? (value as string[]) : undefined;
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

const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
/** Chunk sizes for the byte comparisons: memcmp over big chunks first, then narrower. */
const STEPS = [65_536, 4096, 256, 16, 1];

/** Length of the longest common prefix of a and b. */
export function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const x = view(a);
  const y = view(b);
  const n = Math.min(a.length, b.length);
  let p = 0;
  for (const step of STEPS) while (p + step <= n && x.compare(y, p, p + step, p, p + step) === 0) p += step;
  return p;
}

/** Length of the longest common suffix of a and b, at most `max`. */
export function commonSuffix(a: Uint8Array, b: Uint8Array, max: number): number {
  const x = view(a);
  const y = view(b);
  let s = 0;
  for (const step of STEPS) {
    while (s + step <= max && x.compare(y, b.length - s - step, b.length - s, a.length - s - step, a.length - s) === 0) s += step;
  }
  return s;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
