/**
 * Canonical JSON: the one byte form that is hashed and signed.
 *
 * Object keys sorted recursively by UTF-16 code unit (the default `Array.prototype.sort` order),
 * no whitespace, strings escaped exactly as `JSON.stringify` escapes them (which also escapes lone
 * surrogates, so the output is always well-formed UTF-8). Only strings, booleans, null, arrays,
 * plain objects and safe integers are allowed: floats, NaN, undefined, bigint and the rest throw,
 * because each of them has more than one plausible encoding (or none), and a signature over
 * bytes two implementations would spell differently is a signature nobody can check.
 *
 * Review notes:
 * - `canonicalJson(JSON.parse(s)) === s` holds exactly when `s` is canonical; the snapshot decoder
 *   relies on that to refuse non-canonical payloads (duplicate keys, escapes, `1.0`, spaces).
 * - Depth is capped so that hostile input fails with a clear error instead of a stack overflow.
 */

/** Deeper than any real plan (about 8 levels), shallow enough to never exhaust the stack. */
export const MAX_CANONICAL_DEPTH = 64;

export class CanonicalJsonError extends Error {
  readonly code = 'CANONICAL_JSON' as const;
}

/**
 * Texts of objects already written, keyed by identity: for values that share sub-objects (the
 * relay's node plans share each compiled policy between nodes). Only objects two levels down are
 * looked up (a plan's policies, sets, endpoints), so a lookup costs nothing measurable. An object
 * must never change after it was written with a memo: its first text would be reused.
 */
export type CanonicalMemo = WeakMap<object, string>;
const MEMO_DEPTH = 2;

/** The canonical JSON text of `value`; throws CanonicalJsonError for anything outside the subset. */
export function canonicalJson(value: unknown, memo?: CanonicalMemo): string {
  try {
    return fast(value, 0, memo);
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
  }
  // The fast writer keeps no path (building one per value costs more than the writing); the
  // rare refusal is written again by the path-keeping writer, which names where it failed.
  const parts: string[] = [];
  write(value, parts, '$', 0);
  return parts.join('');
}

/**
 * The canonical text of `value` as it is written `depth` levels down in a larger value (the depth
 * limit counts from there): lets a caller write a value part by part. Throws like canonicalJson.
 */
export function canonicalJsonAt(value: unknown, depth: number): string {
  try {
    return fast(value, depth, undefined);
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
  }
  const parts: string[] = [];
  write(value, parts, '$', depth);
  return parts.join('');
}

/** UTF-8 bytes of `canonicalJson(value)`. */
export function canonicalBytes(value: unknown, memo?: CanonicalMemo): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value, memo));
}

class Refused extends Error {}
const REFUSED = new Refused();

/** The hot path: string concatenation (cheaper than parts and join here), no path kept. */
function fast(value: unknown, depth: number, memo: CanonicalMemo | undefined): string {
  if (depth > MAX_CANONICAL_DEPTH) throw REFUSED;
  if (memo !== undefined && depth === MEMO_DEPTH && typeof value === 'object' && value !== null) {
    let text = memo.get(value);
    if (text === undefined) memo.set(value, (text = fast(value, depth, undefined)));
    return text;
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw REFUSED;
      return value === 0 ? '0' : String(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        // A list of strings (set members, the bulk of a large plan) is written by the engine in one
        // call: JSON.stringify escapes each string exactly as this writer does, and adds no space.
        // (Not at the depth limit, where the strings themselves are too deep; not with a toJSON.)
        if (depth < MAX_CANONICAL_DEPTH && allStrings(value) && !('toJSON' in value)) return JSON.stringify(value);
        let s = '[';
        for (let i = 0; i < value.length; i++) s += (i > 0 ? ',' : '') + fast(value[i], depth + 1, memo);
        return `${s}]`;
      }
      if (!isPlainObject(value)) throw REFUSED;
      const keys = Object.keys(value).sort();
      let s = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        s += `${i > 0 ? ',' : ''}${JSON.stringify(k)}:${fast((value as Record<string, unknown>)[k], depth + 1, memo)}`;
      }
      return `${s}}`;
    }
    default:
      throw REFUSED;
  }
}

/** True for a dense array whose every entry is a string (a hole reads as undefined: false). */
function allStrings(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) if (typeof list[i] !== 'string') return false;
  return true;
}

function write(value: unknown, out: string[], path: string, depth: number): void {
  if (depth > MAX_CANONICAL_DEPTH) throw new CanonicalJsonError(`${path}: nested deeper than ${MAX_CANONICAL_DEPTH} levels`);
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isSafeInteger(value)) throw new CanonicalJsonError(`${path}: only safe integers are allowed, got ${value}`);
      // -0 prints as "0", like JSON.stringify; parsing it back gives 0, which is the same value.
      out.push(String(value === 0 ? 0 : value));
      return;
    case 'object':
      if (value === null) {
        out.push('null');
        return;
      }
      if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          write(value[i], out, `${path}[${i}]`, depth + 1);
        }
        out.push(']');
        return;
      }
      if (!isPlainObject(value)) throw new CanonicalJsonError(`${path}: only plain objects are allowed`);
      writeObject(value as Record<string, unknown>, out, path, depth);
      return;
    default:
      throw new CanonicalJsonError(`${path}: ${typeof value} is not allowed in canonical JSON`);
  }
}

function writeObject(obj: Record<string, unknown>, out: string[], path: string, depth: number): void {
  // Default sort compares UTF-16 code units, which is what the spec promises; no locale.
  const keys = Object.keys(obj).sort();
  out.push('{');
  keys.forEach((key, i) => {
    if (i > 0) out.push(',');
    out.push(JSON.stringify(key), ':');
    write(obj[key], out, `${path}.${key}`, depth + 1);
  });
  out.push('}');
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * True when the JSON text in `bytes` nests arrays/objects deeper than `max`: a linear byte scan
 * (strings and escapes skipped), so hostile input is refused before JSON.parse builds it.
 */
export function jsonDepthExceeds(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > max) return true;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return false;
}
