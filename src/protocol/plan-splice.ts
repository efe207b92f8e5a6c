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
 * members (a short scan of B's bytes), and only NEW is parsed, checked and validated; the new
 * plan is the previous one with those members replaced, sharing every other object with it. The
 * list must be sorted and unique, as the relay writes it: then OLD's first member, found by
 * binary search, says where the run is in the validated list (and all of OLD must be there).
 *
 * A change inside the policies or profiles is handled the same way one level up, element by
 * element (plan-parts.ts).
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
 *   schema, non-ASCII bytes, an unsorted list, any inconsistency) returns undefined and the caller
 *   runs the full decode, which names the reason of a refusal: this path only ever accepts.
 * - Belt and braces: a wrongly found member boundary would leave OLD with an odd number of
 *   delimiting quotes (it would not parse) or with members that are not in the list at that
 *   place; either way the full decode runs.
 * - Offsets are byte offsets, valid because a basis is only kept for an all-ASCII plan (the
 *   canonical text's length equals its UTF-8 length) and NEW must be ASCII too.
 * - Plans are shared between successive snapshots, so nothing may mutate a decoded plan (nothing
 *   does: render and the agent build new objects).
 */
import * as v from 'valibot';
import { IpSetPlanSchema, type NodePlan } from '../plan/schema.ts';
import { canonicalJson } from './canonical-json.ts';
import { spliceParts, type PartList } from './plan-parts.ts';
import { firstNotBelow, markSplicedV4HostList } from '../net/host-lists.ts';

type Family = 'v4' | 'v6';

interface MemberList {
  /** Index in plan.ipSets. */
  readonly set: number;
  readonly family: Family;
  /** Byte offset of the list's '[' in the plan's bytes. */
  readonly start: number;
  /** Bytes from '[' to ']' inclusive. */
  readonly length: number;
  /** Strictly increasing (what the relay sends: sorted, unique): a member's text gives its index. */
  readonly sorted: boolean;
}

/** What a verified v2 plan leaves behind for the next decode. */
export interface PlanBasis {
  /** The inflated canonical plan bytes (verified: their hash was signed). */
  readonly bytes: Uint8Array;
  /** Their validated plan. */
  readonly plan: NodePlan;
  /** The member lists of plan.ipSets, in byte order. */
  readonly lists: readonly MemberList[];
  /** Where each policy and profile is (plan-parts.ts). */
  readonly parts: readonly PartList[];
}

/**
 * The basis for a plan that passed the full decode: `value` is what JSON.parse gave for the
 * canonical `text` of `bytes`, `plan` its validated form. Undefined when the plan is not ASCII or
 * has an unexpected shape (the next decode is then a full one).
 */
export function planBasis(bytes: Uint8Array, text: string, value: unknown, plan: NodePlan, parts: readonly PartList[]): PlanBasis | undefined {
  if (text.length !== bytes.length || !isRecord(value) || !Array.isArray(value['ipSets'])) return undefined;
  if (parts.some((l) => plan[l.key].length !== l.ends.length)) return undefined;
  try {
    const lists: MemberList[] = [];
    // Offsets by the lengths of the canonical texts before each list: the plan's keys sort as
    // …, endpoints, failsafes, ipSets, …, so only small parts come before the sets, and the
    // policies after them are not written again.
    let pos = 1;
    for (const [n, key] of Object.keys(value).sort().entries()) {
      pos += (n > 0 ? 1 : 0) + JSON.stringify(key).length + 1;
      if (key === 'ipSets') {
        setsLayout(value[key] as unknown[], pos, plan, lists, text);
        break;
      }
      pos += canonicalJson(value[key]).length;
    }
    return { bytes, plan, lists, parts };
  } catch {
    return undefined;
  }
}

/**
 * Records the member lists of the ipSets text that starts at `start`. Each list's text is checked
 * to be where the walk says (throws otherwise: no basis), so a wrong offset cannot go unnoticed.
 */
function setsLayout(sets: readonly unknown[], start: number, plan: NodePlan, lists: MemberList[], text: string): void {
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
      const listText = canonicalJson(list);
      const out = field === 'v4' || field === 'v6' ? plan.ipSets[k]?.[field] : undefined;
      if (out !== undefined && Array.isArray(list) && out.length === list.length) {
        if (!text.startsWith(listText, pos)) throw new Error('a member list is not where the walk says');
        lists.push({ set: k, family: field as Family, start: pos, length: listText.length, sorted: increasing(out, 0, out.length) });
      }
      pos += listText.length;
    });
    pos += 1;
  });
  if (text.charCodeAt(pos) !== 0x5d) throw new Error('the ipSets list does not end where the walk says');
}

/** True when list[from..to) is strictly increasing in string order. */
function increasing(list: readonly string[], from: number, to: number): boolean {
  for (let i = from + 1; i < to; i++) if (!(list[i - 1]! < list[i]!)) return false;
  return true;
}

/**
 * The plan for `bytes` (already hash-checked against a signed header) derived from `basis`, with
 * the basis for the next decode; undefined when the change is not a run of members of one sorted
 * list or a run of policies or profiles (the caller then decodes in full).
 */
export function splicePlan(basis: PlanBasis, bytes: Uint8Array): { plan: NodePlan; basis: PlanBasis } | undefined {
  const old = basis.bytes;
  const delta = bytes.length - old.length;
  const p = commonPrefix(old, bytes);
  if (p === old.length && delta === 0) return { plan: basis.plan, basis: { ...basis, bytes } };
  const q = old.length - commonSuffix(old, bytes, Math.min(old.length, bytes.length) - p);
  const inside = (l: { start: number; length: number }) => l.start < p && q < l.start + l.length;
  const shift = <T extends { start: number }>(l: T, after: number): T => (l.start > after ? { ...l, start: l.start + delta } : l);
  const part = basis.parts.findIndex(inside);
  if (part >= 0) {
    // Inside the policies or profiles: the changed elements alone (plan-parts.ts).
    const at = basis.parts[part]!;
    const r = spliceParts(at, basis.plan, old, bytes, p, q);
    if (r === undefined) return undefined;
    const parts = basis.parts.map((l, k) => (k === part ? r.list : shift(l, at.start)));
    return { plan: r.plan, basis: { bytes, plan: r.plan, lists: basis.lists.map((l) => shift(l, at.start)), parts } };
  }
  const at = basis.lists.findIndex(inside);
  const list = basis.lists[at];
  const set = list === undefined ? undefined : basis.plan.ipSets[list.set];
  const was = list === undefined ? undefined : set?.[list.family];
  if (list === undefined || set === undefined || was === undefined || !list.sorted) return undefined;
  // The old members that cover the changed bytes: from the start of the one holding p to the
  // end of the one holding q (a short scan in the verified bytes, see memberStart/memberEnd).
  const from = memberStart(old, list, p);
  const to = memberEnd(old, list, q);
  if (from === undefined || to === undefined || to + delta < from) return undefined;
  const whole = from === list.start + 1 && to === list.start + list.length - 1;
  const gone = members(old.subarray(from, to), whole);
  const added = members(bytes.subarray(from, to + delta), whole);
  if (gone === undefined || added === undefined) return undefined;
  const checked = v.safeParse(IpSetPlanSchema.entries[list.family], added, { abortEarly: true });
  if (!checked.success) return undefined;
  // Sorted and unique: the first member gone says where the run is; all of it must be there.
  const i = gone.length ? firstNotBelow(was, gone[0]!) : 0;
  if (gone.length === 0 && was.length !== 0) return undefined;
  for (let t = 0; t < gone.length; t++) if (was[i + t] !== gone[t]) return undefined;
  const m = checked.output;
  const after = i + gone.length;
  const sorted = increasing(m, 0, m.length) && (m.length === 0 || ((i === 0 || was[i - 1]! < m[0]!) && (after === was.length || m[m.length - 1]! < was[after]!)));
  const lists = basis.lists.map((l, k) => (k === at ? { ...l, length: l.length + delta, sorted } : shift(l, list.start)));
  const ipSets = basis.plan.ipSets.slice();
  const next = was.slice(0, i).concat(m, was.slice(after));
  // The renderer takes a list of plain IPv4 hosts it has seen before without walking it again.
  if (sorted && list.family === 'v4') markSplicedV4HostList(was, m, next);
  ipSets[list.set] = { ...set, [list.family]: next };
  const plan: NodePlan = { ...basis.plan, ipSets };
  return { plan, basis: { bytes, plan, lists, parts: basis.parts.map((l) => shift(l, list.start)) } };
}

/**
 * Where the member holding byte `at` of a list in verified canonical bytes starts (its opening
 * quote), or the list's first byte after '['. A member starts after '","' whose first quote is
 * not escaped: that quote closes the member before (were it an opening one, the next quote
 * would close a one-character member, and the plan schema's members are at least 3 long).
 * Members are short (at most 43 characters, a few hundred bytes escaped), so the scan is too.
 */
function memberStart(b: Uint8Array, list: MemberList, at: number): number | undefined {
  const first = list.start + 1;
  for (let y = at; y >= first && at - y <= SCAN_MAX; y--) {
    if (y === first) return y;
    if (b[y] === QUOTE && b[y - 1] === COMMA && b[y - 2] === QUOTE && unescaped(b, y - 2)) return y;
  }
  return undefined;
}

/** Where the member holding byte `at` ends (the ',' or ']' after its closing quote); see memberStart. */
function memberEnd(b: Uint8Array, list: MemberList, at: number): number | undefined {
  const close = list.start + list.length - 1;
  for (let y = at; y <= close && y - at <= SCAN_MAX; y++) {
    if (y === close) return y;
    if (b[y] === COMMA && b[y - 1] === QUOTE && b[y + 1] === QUOTE && unescaped(b, y - 1)) return y;
  }
  return undefined;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
/** Far beyond the longest member's text (43 characters of six-byte escapes). */
const SCAN_MAX = 1024;

/** True when the quote at `at` is preceded by an even number of backslashes (it is a delimiter). */
function unescaped(b: Uint8Array, at: number): boolean {
  let n = 0;
  while (at - n - 1 >= 0 && b[at - n - 1] === BACKSLASH) n++;
  return n % 2 === 0;
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
