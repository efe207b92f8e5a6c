// Field-name decoding as Go's encoding/json does it for calicoctl and Felix, applied before
// the valibot schemas run (valibot's object schemas silently drop keys they do not know, so
// a typo such as `ingres:` would otherwise become "no ingress rules").
//
// The known-field tree is read from the valibot schemas themselves (object entries through
// exact_optional/optional wrappers, pipe items, array items, variant/union options; a record
// has free keys), so the schemas stay the one source of truth for field names.
//
// - A key equal to a known field is that field; otherwise a key equal to one ignoring case is
//   (`Order` is `order`), and the value moves to the canonical name.
// - Two keys that name the same field are refused (Go would silently keep the last one).
// - An unknown key: 'manifest' mode refuses it (calicoctl's strict decoding), with the nearest
//   field name when one is close; 'stored' mode drops it and returns it as a notice (Felix
//   ignores unknown fields in the datastore).
// - Map keys (labels, annotations, labelsToApply) are data, never folded or refused.
import type * as v from 'valibot';
import { MAX_ERRORS_PER_RESOURCE, clip } from './limits.ts';

export type DecodeMode = 'manifest' | 'stored';

export interface FieldProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export interface Decoded {
  /** The input with every known field under its canonical name (unknown ones left out). */
  readonly value: unknown;
  /** Refusals: unknown fields (manifest mode) and keys that name one field twice. */
  readonly errors: FieldProblem[];
  /** Unknown fields dropped in stored mode. */
  readonly notices: FieldProblem[];
  /** Errors beyond MAX_ERRORS_PER_RESOURCE: counted, not described (no suggestion computed). */
  readonly omitted: number;
}

type AnySchema = v.GenericSchema & { readonly type: string } & Record<string, unknown>;

/** The structure that matters for field names; everything else is a leaf. */
type Shape =
  | { readonly kind: 'object'; readonly entries: Readonly<Record<string, AnySchema>>; readonly loose: boolean; readonly names: readonly string[] }
  | { readonly kind: 'record'; readonly value: AnySchema }
  | { readonly kind: 'array'; readonly item: AnySchema }
  | { readonly kind: 'variant'; readonly key: string; readonly options: readonly AnySchema[] }
  | { readonly kind: 'leaf' };

const LEAF: Shape = { kind: 'leaf' };
const shapes = new WeakMap<object, Shape>();

function shapeOf(schema: AnySchema): Shape {
  let shape = shapes.get(schema);
  if (!shape) {
    shape = computeShape(schema);
    shapes.set(schema, shape);
  }
  return shape;
}

function computeShape(schema: AnySchema): Shape {
  const pipe = schema['pipe'];
  if (Array.isArray(pipe)) {
    // pipe[0] is the base schema; a later schema item (noArray's object after its custom
    // check) carries the structure when the base is a leaf.
    for (const item of pipe as AnySchema[]) {
      if (item.kind !== 'schema') continue;
      const s = item === schema ? LEAF : shapeOf(item);
      if (s.kind !== 'leaf') return s;
    }
    return LEAF;
  }
  switch (schema.type) {
    case 'object':
    case 'strict_object':
    case 'loose_object':
    case 'object_with_rest':
      return {
        kind: 'object',
        entries: schema['entries'] as Record<string, AnySchema>,
        loose: schema.type !== 'object' && schema.type !== 'strict_object',
        names: Object.keys(schema['entries'] as Record<string, AnySchema>),
      };
    case 'exact_optional':
    case 'optional':
    case 'nullable':
    case 'nullish':
    case 'non_optional':
    case 'non_nullable':
    case 'non_nullish':
    case 'undefinedable':
      return shapeOf(schema['wrapped'] as AnySchema);
    case 'record':
      return { kind: 'record', value: schema['value'] as AnySchema };
    case 'array':
      return { kind: 'array', item: schema['item'] as AnySchema };
    case 'variant':
      return { kind: 'variant', key: schema['key'] as string, options: schema['options'] as AnySchema[] };
    case 'union':
      return unionShape(schema['options'] as AnySchema[]);
    default:
      return LEAF;
  }
}

/** A union of a scalar and one structured option is that option; several objects merge. */
function unionShape(options: readonly AnySchema[]): Shape {
  const structured = options.map(shapeOf).filter((s) => s.kind !== 'leaf');
  if (structured.length <= 1) return structured[0] ?? LEAF;
  if (structured.every((s) => s.kind === 'object')) {
    const entries: Record<string, AnySchema> = {};
    for (const s of structured) Object.assign(entries, s.entries);
    return { kind: 'object', entries, loose: structured.some((s) => s.loose), names: Object.keys(entries) };
  }
  return structured[0] ?? LEAF;
}

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Date);

/** Optimal string alignment distance (Levenshtein plus adjacent transposition), lower-cased. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const row = d[i]!;
      const prev = d[i - 1]!;
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[s.length]![t.length]!;
}

/**
 * The known name closest to `word`, when it is close enough to be a typo: at most one edit
 * for short words, two from 6 characters, three from 12.
 */
export function nearest(word: string, known: readonly string[]): string | undefined {
  const limit = word.length >= 12 ? 3 : word.length >= 6 ? 2 : 1;
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    // The distance is at least the difference in length: skip the quadratic part (long keys).
    if (Math.abs(word.length - name.length) > limit) continue;
    const d = editDistance(word, name);
    if (d <= limit && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

/** Lists the fields of a small object in the message; a long list would bury the point. */
const LIST_FIELDS_UP_TO = 12;

function unknownFieldMessage(key: string, known: readonly string[]): string {
  const guess = nearest(key, known);
  if (guess) return `unknown field; did you mean \`${guess}\`?`;
  if (known.length <= LIST_FIELDS_UP_TO) return `unknown field (known fields: ${known.join(', ')})`;
  return 'unknown field';
}

/** Exact name first, then the first name equal ignoring case (Go's encoding/json order). */
function canonicalName(key: string, names: readonly string[], entries: Readonly<Record<string, unknown>>): string | undefined {
  if (Object.hasOwn(entries, key)) return key;
  const lower = key.toLowerCase();
  return names.find((n) => n.toLowerCase() === lower);
}

/**
 * Where the walker is, as a chain from the leaf up: built as it descends at the cost of one
 * small object per level, turned into a path array only for a problem.
 */
type At = { readonly up: At; readonly key: string | number } | undefined;
const at = (up: At, key: string | number): At => ({ up, key });
function pathOf(a: At): (string | number)[] {
  const out: (string | number)[] = [];
  for (let x = a; x; x = x.up) out.push(x.key);
  return out.reverse();
}

class Walker {
  readonly errors: FieldProblem[] = [];
  readonly notices: FieldProblem[] = [];
  omitted = 0;

  constructor(private readonly mode: DecodeMode) {}

  walk(schema: AnySchema, value: unknown, path: At): unknown {
    const shape = shapeOf(schema);
    switch (shape.kind) {
      case 'object':
        return isPlainObject(value) ? this.object(shape, value, path) : value;
      case 'record': {
        if (!isPlainObject(value)) return value;
        const out: Record<string, unknown> = {};
        const leaf = shapeOf(shape.value) === LEAF;
        for (const k of Object.keys(value)) out[k] = leaf ? value[k] : this.walk(shape.value, value[k], at(path, k));
        return out;
      }
      case 'array':
        if (!Array.isArray(value)) return value;
        // Arrays of leaves (ports, nets, types): a copy, without a walk per entry.
        if (shapeOf(shape.item).kind === 'leaf') return value.slice();
        return value.map((x, i) => this.walk(shape.item, x, at(path, i)));
      case 'variant':
        return this.variant(shape, value, path);
      default:
        return value;
    }
  }

  private object(
    shape: Extract<Shape, { kind: 'object' }>,
    value: Record<string, unknown>,
    path: At,
  ): Record<string, unknown> {
    const names = shape.names;
    const out: Record<string, unknown> = {};
    let from: Map<string, string> | undefined;
    for (const key of Object.keys(value)) {
      const x = value[key];
      const name = canonicalName(key, names, shape.entries);
      if (name === undefined) {
        if (shape.loose) out[key] = x;
        else if (this.mode === 'manifest') {
          // 100,000 unknown keys must not cost 100,000 nearest-name searches.
          if (this.errors.length < MAX_ERRORS_PER_RESOURCE) {
            this.errors.push({ path: pathOf(at(path, key)), message: unknownFieldMessage(key, names) });
          } else this.omitted++;
        } else if (this.notices.length < MAX_ERRORS_PER_RESOURCE) {
          this.notices.push({ path: pathOf(at(path, key)), message: 'unknown field ignored' });
        }
        continue;
      }
      // A second key naming the same field: only possible when one of them differs in case.
      const first = Object.hasOwn(out, name) ? from?.get(name) ?? name : undefined;
      if (first !== undefined) {
        if (this.errors.length >= MAX_ERRORS_PER_RESOURCE) this.omitted++;
        else this.errors.push({ path: pathOf(at(path, key)), message: `\`${clip(first)}\` and \`${clip(key)}\` both set the field \`${name}\`; keep one` });
        continue;
      }
      if (key !== name) (from ??= new Map()).set(name, key);
      // A leaf is kept as it is: no walk and no path link for it (most fields of a manifest).
      const entry = shape.entries[name]!;
      out[name] = shapeOf(entry) === LEAF ? x : this.walk(entry, x, at(path, name));
    }
    return out;
  }

  private variant(shape: Extract<Shape, { kind: 'variant' }>, value: unknown, path: At): unknown {
    if (!isPlainObject(value)) return value;
    // The discriminant itself may be spelled in another case (`Kind:`).
    const keyInInput = Object.keys(value).find((k) => k === shape.key) ??
      Object.keys(value).find((k) => k.toLowerCase() === shape.key.toLowerCase());
    const tag = keyInInput === undefined ? undefined : value[keyInInput];
    const option = shape.options.find((o) => {
      const entry = (o['entries'] as Record<string, AnySchema> | undefined)?.[shape.key];
      return entry?.['literal'] === tag;
    });
    return option ? this.walk(option, value, path) : value;
  }
}

/** Canonicalises the field names of `value` against `schema` (see the file comment). */
export function decodeFields(schema: v.GenericSchema, value: unknown, mode: DecodeMode): Decoded {
  const walker = new Walker(mode);
  const out = walker.walk(schema as AnySchema, value, undefined);
  return { value: out, errors: walker.errors, notices: walker.notices, omitted: walker.omitted };
}

/**
 * Every field path the schema knows, per variant option ("HostEndpoint:spec.ports[].name"),
 * with map-valued fields (labels, ...) as leaves; for the corpus test that checks coverage.
 */
export function knownFieldPaths(schema: v.GenericSchema): string[] {
  const out: string[] = [];
  const visit = (s: AnySchema, prefix: string, path: string): void => {
    const shape = shapeOf(s);
    if (shape.kind === 'object') {
      for (const [name, entry] of Object.entries(shape.entries)) {
        const p = path === '' ? name : `${path}.${name}`;
        out.push(`${prefix}${p}`);
        visit(entry, prefix, p);
      }
    } else if (shape.kind === 'array') visit(shape.item, prefix, `${path}[]`);
    else if (shape.kind === 'variant') {
      for (const o of shape.options) {
        const tag = (o['entries'] as Record<string, AnySchema> | undefined)?.[shape.key]?.['literal'];
        visit(o, `${prefix}${String(tag)}:`, path);
      }
    }
  };
  visit(schema as AnySchema, '', '');
  return out;
}
