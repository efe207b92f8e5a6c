/**
 * JSON bytes as Go's encoding/json would write them for a typed struct, so that what outpost
 * stores in etcd is byte-for-byte what Calico's client stores (and `-o json` prints what
 * calicoctl prints). JSON.stringify cannot do this: Go writes struct fields in declaration
 * order, sorts map keys, applies `omitempty`/`omitzero`, writes `null` for nil slices without
 * omitempty, and escapes <, > and & (selectors contain `&&`).
 *
 * A Shape describes the Go type. In the JS value, an absent field is Go's zero value (nil
 * pointer/slice/map, "", 0, false); a present one was set, so a present `[]` is a non-nil
 * empty slice and a present `false` behind a pointer is kept. Pure; no I/O.
 */

export type Shape =
  | { readonly t: 'string' | 'bool' | 'int' | 'float' | 'time' }
  /** numorstring.Port: "80" and "80:80" are the number 80; a range or a name stays a string. */
  | { readonly t: 'port' }
  /** numorstring.Protocol: a string of digits is a number. */
  | { readonly t: 'protocol' }
  | { readonly t: 'ptr'; readonly elem: Shape }
  | { readonly t: 'slice'; readonly elem: Shape }
  | { readonly t: 'map'; readonly elem: Shape }
  | { readonly t: 'struct'; readonly fields: readonly Field[] }
  /** A type outpost does not model: written as given, objects in their own key order. */
  | { readonly t: 'any' };

export interface Field {
  readonly name: string;
  readonly shape: Shape;
  /** Go tag option: `omitempty` (false, 0, "", nil, empty slice/map; never a struct) or `omitzero`. */
  readonly omit?: 'empty' | 'zero';
}

type Node = { k: 'raw'; text: string } | { k: 'obj'; entries: [string, Node][] } | { k: 'arr'; items: Node[] };

const raw = (text: string): Node => ({ k: 'raw', text });
const NULL = raw('null');

/** A Go string literal: JSON.stringify already writes \b \f \n \r \t and \u00xx like Go ≥1.22. */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** strconv.FormatFloat(f, 'f' or 'e', -1, 64) with encoding/json's cut-offs, which JS shares. */
function goFloat(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`json: unsupported value: ${n}`);
  return Object.is(n, -0) ? '-0' : String(n);
}

function portValue(p: unknown): Node {
  if (typeof p === 'number') return raw(String(p));
  const s = String(p);
  const range = /^(\d+):(\d+)$/.exec(s);
  if (range && range[1] !== undefined && Number(range[1]) === Number(range[2])) return raw(String(Number(range[1])));
  if (/^\d+$/.test(s)) return raw(String(Number(s)));
  return raw(goQuote(s));
}

function protocolValue(p: unknown): Node {
  if (typeof p === 'number') return raw(String(p));
  const s = String(p);
  return /^\d+$/.test(s) && Number(s) <= 255 ? raw(String(Number(s))) : raw(goQuote(s));
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Go's `isEmptyValue` (omitempty) for the value as it would be decoded. */
function isEmpty(value: unknown, shape: Shape): boolean {
  if (value === undefined || value === null) return shape.t !== 'struct';
  switch (shape.t) {
    case 'struct':
      return false;
    case 'slice':
      return Array.isArray(value) && value.length === 0;
    case 'map':
      return isObj(value) && Object.keys(value).length === 0;
    case 'string':
    case 'time':
      return value === '';
    case 'bool':
      return value === false;
    case 'int':
    case 'float':
      return value === 0;
    default:
      return false;
  }
}

/** reflect.Value.IsZero (omitzero): nil, or a struct whose every field is zero. */
function isZero(value: unknown, shape: Shape): boolean {
  if (value === undefined || value === null) return true;
  if (shape.t === 'struct') return isObj(value) && shape.fields.every((f) => isZero(value[f.name], f.shape));
  if (shape.t === 'slice' || shape.t === 'map' || shape.t === 'ptr' || shape.t === 'any') return false;
  return isEmpty(value, shape);
}

function zeroOf(shape: Shape): Node {
  switch (shape.t) {
    case 'string':
      return raw('""');
    case 'bool':
      return raw('false');
    case 'int':
    case 'float':
      return raw('0');
    case 'port':
    case 'protocol':
      return raw('0');
    case 'struct':
      return toNode({}, shape);
    default:
      return NULL; // nil pointer, slice, map, interface; zero metav1.Time marshals as null
  }
}

function anyNode(value: unknown): Node {
  if (value === undefined || value === null) return NULL;
  if (Array.isArray(value)) return { k: 'arr', items: value.map(anyNode) };
  if (isObj(value)) return { k: 'obj', entries: Object.entries(value).map(([k, v]) => [k, anyNode(v)]) };
  if (typeof value === 'number') return raw(goFloat(value));
  if (typeof value === 'boolean') return raw(String(value));
  return raw(goQuote(String(value)));
}

function toNode(value: unknown, shape: Shape): Node {
  if (value === undefined || value === null) return zeroOf(shape);
  switch (shape.t) {
    case 'string':
    case 'time':
      return raw(goQuote(String(value)));
    case 'bool':
      return raw(value === true ? 'true' : 'false');
    case 'int':
      return raw(String(Math.trunc(Number(value))));
    case 'float':
      return raw(goFloat(Number(value)));
    case 'port':
      return portValue(value);
    case 'protocol':
      return protocolValue(value);
    case 'ptr':
      return toNode(value, shape.elem);
    case 'any':
      return anyNode(value);
    case 'slice':
      return Array.isArray(value) ? { k: 'arr', items: value.map((x) => toNode(x, shape.elem)) } : anyNode(value);
    case 'map': {
      if (!isObj(value)) return anyNode(value);
      const keys = Object.keys(value).sort(compareUTF8);
      return { k: 'obj', entries: keys.map((k) => [k, toNode(value[k], shape.elem)]) };
    }
    case 'struct': {
      const o = isObj(value) ? value : {};
      const entries: [string, Node][] = [];
      for (const f of shape.fields) {
        const fv = o[f.name];
        if (f.omit === 'empty' && isEmpty(fv, f.shape)) continue;
        if (f.omit === 'zero' && isZero(fv, f.shape)) continue;
        entries.push([f.name, toNode(fv, f.shape)]);
      }
      return { k: 'obj', entries };
    }
  }
}

/** Go sorts map keys by their UTF-8 bytes; JS compares UTF-16 units (differs above U+FFFF). */
function compareUTF8(a: string, b: string): number {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) if (ea[i] !== eb[i]) return ea[i]! - eb[i]!;
  return ea.length - eb.length;
}

function render(n: Node, indent: string, level: number): string {
  if (n.k === 'raw') return n.text;
  const pad = indent === '' ? '' : `\n${indent.repeat(level + 1)}`;
  const end = indent === '' ? '' : `\n${indent.repeat(level)}`;
  const sep = indent === '' ? ':' : ': ';
  if (n.k === 'arr') {
    if (n.items.length === 0) return '[]';
    return `[${n.items.map((x) => pad + render(x, indent, level + 1)).join(',')}${end}]`;
  }
  if (n.entries.length === 0) return '{}';
  return `{${n.entries.map(([k, x]) => `${pad}${goQuote(k)}${sep}${render(x, indent, level + 1)}`).join(',')}${end}}`;
}

/** json.Marshal(value) for a value of Go type `shape`. */
export function goMarshal(value: unknown, shape: Shape): string {
  return render(toNode(value, shape), '', 0);
}

/** json.MarshalIndent(value, "", indent). */
export function goMarshalIndent(value: unknown, shape: Shape, indent = '  '): string {
  return render(toNode(value, shape), indent, 0);
}

/** The value as Go would hand it on after a JSON round trip: omitted fields gone, ports normalised. */
export function goNormalize(value: unknown, shape: Shape): unknown {
  return JSON.parse(goMarshal(value, shape)) as unknown;
}
