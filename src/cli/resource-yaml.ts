/**
 * YAML as calicoctl prints it (`-o yaml`): sigs.k8s.io/yaml, i.e. Go's JSON of the object
 * re-emitted by go-yaml v2. Written here rather than with the `yaml` package because the
 * details that make output diff-able against calicoctl's are go-yaml's own: keys in its
 * "natural" order, sequences not indented under their key, strings double-quoted when they
 * would read back as another type (resourceVersion: "12", timestamps, "yes") and single-quoted
 * when they start with an indicator ('!has(x)'), and long scalars folded after column 80.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const BEST_WIDTH = 80;

/** go-yaml v2's keyList.Less: letters after non-letters, digit runs compared as numbers. */
function naturalLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  const isLetter = (c: string) => /\p{L}/u.test(c);
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]! < br[i]!;
    if (al || bl) return bl;
    let an = 0;
    let bn = 0;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; isDigit(ar[ai]); ai++) an = an * 10 + Number(ar[ai]);
    for (; isDigit(br[bi]); bi++) bn = bn * 10 + Number(br[bi]);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]! < br[i]!;
  }
  return ar.length < br.length;
}

const RESOLVE_MAP = new Set(
  'y Y yes Yes YES on On ON true True TRUE n N no No NO off Off OFF false False FALSE ~ null Null NULL .nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF <<'.split(' '),
);
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const TIMESTAMP = /^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d{1,2}(?::\d{2})?))?)?$/;
const GO_INT = /^[-+]?(0[bB][01]+|0[oO]?[0-7]+|0[xX][0-9a-fA-F]+|[1-9][0-9]*|0)$/;

/** Would go-yaml v2 read this plain scalar back as something other than a string? */
function resolvesToNonString(s: string): boolean {
  if (s === '' || RESOLVE_MAP.has(s)) return true;
  const c = s[0]!;
  if (c === '.') return YAML_FLOAT.test(s);
  if (!/[-+0-9]/.test(c)) return false;
  if (TIMESTAMP.test(s)) return true;
  const plain = s.replaceAll('_', '');
  return GO_INT.test(plain) || YAML_FLOAT.test(plain) || BASE60_FLOAT.test(s);
}

/** yaml_emitter_analyze_scalar, block context: may this be written plain / single-quoted? */
function analyze(s: string): { plain: boolean; single: boolean } {
  let indicators = false;
  let special = false;
  const chars = [...s];
  if (s.startsWith('---') || s.startsWith('...')) indicators = true;
  chars.forEach((c, i) => {
    const next = chars[i + 1];
    const followedBySpace = next === undefined || next === ' ' || next === '\t' || next === '\n';
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) indicators = true;
      if ((c === '?' || c === ':' || c === '-') && followedBySpace) indicators = true;
    } else {
      if (c === ':' && followedBySpace) indicators = true;
      if (c === '#' && (chars[i - 1] === ' ' || chars[i - 1] === '\t')) indicators = true;
    }
    const code = c.codePointAt(0)!;
    const printable = code === 0x0a || (code >= 0x20 && code <= 0x7e) || code === 0x85 || (code >= 0xa0 && code !== 0xfeff && !(code >= 0xd800 && code <= 0xdfff));
    if (!printable) special = true;
  });
  const edgeSpace = s.startsWith(' ') || s.endsWith(' ');
  return { plain: !indicators && !special && !edgeSpace && s !== '', single: !special };
}

function doubleQuoted(s: string): string {
  const esc: Record<string, string> = { '\0': '\\0', '\x07': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r', '\x1b': '\\e', '"': '\\"', '\\': '\\\\', '\x85': '\\N', '\xa0': '\\_', '\u2028': '\\L', '\u2029': '\\P' };
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0)!;
    if (esc[c] !== undefined) out += esc[c];
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0) || code === 0xfeff) out += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += c;
  }
  return `${out}"`;
}

/** Writes words, breaking at a single space once the column passed 80 (go-yaml's folding). */
function folded(text: string, column: number, indent: number, allowBreaks: boolean): string {
  if (!allowBreaks) return text;
  let out = '';
  let col = column;
  const chars = [...text];
  chars.forEach((c, i) => {
    if (c === ' ' && col > BEST_WIDTH && chars[i - 1] !== ' ' && chars[i + 1] !== ' ' && i !== 0 && i !== chars.length - 1) {
      out += `\n${' '.repeat(indent)}`;
      col = indent;
      return;
    }
    out += c;
    col++;
  });
  return out;
}

/** A string scalar at `column`, continuation lines at `indent`. */
function stringScalar(s: string, column: number, indent: number, isKey: boolean): string {
  if (s.includes('\n') && !isKey) {
    const chomp = s.endsWith('\n') ? (s.endsWith('\n\n') ? '+' : '') : '-';
    const body = (chomp === '-' ? s : s.replace(/\n+$/, (m) => (chomp === '+' ? m.slice(1) : ''))).split('\n');
    return `|${chomp}${body.map((l) => (l === '' ? '\n' : `\n${' '.repeat(indent)}${l}`)).join('')}`;
  }
  const a = analyze(s);
  if (!resolvesToNonString(s) && a.plain) return folded(s, column, indent, !isKey);
  if (!resolvesToNonString(s) && a.single) return `'${folded(s.replaceAll("'", "''"), column + 1, indent, !isKey)}'`;
  return doubleQuoted(s);
}

/**
 * strconv.FormatFloat(f, 'g', -1, 64), which is also fmt's %v: the shortest digits, in
 * exponent form when the exponent is < -4 or ≥ 6 (so 1e6 is "1e+06", 123456 stays).
 */
export function goFormatG(n: number): string {
  const [mant, expStr] = n.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

function scalar(v: Json, column: number, indent: number): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFormatG(v);
  if (typeof v === 'string') return stringScalar(v, column, indent, false);
  if (Array.isArray(v)) return v.length === 0 ? '[]' : undefined;
  return Object.keys(v).length === 0 ? '{}' : undefined;
}

function lines(v: Json, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    return v.flatMap((item) => {
      const s = scalar(item, indent + 2, indent + 2);
      if (s !== undefined) return [`${pad}- ${s}`];
      const inner = lines(item, indent + 2);
      return [`${pad}- ${inner[0]!.slice(indent + 2)}`, ...inner.slice(1)];
    });
  }
  const obj = v as { [k: string]: Json };
  const keys = Object.keys(obj).sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0));
  return keys.flatMap((k) => {
    const key = stringScalar(k, indent, indent, true);
    const value = obj[k]!;
    const s = scalar(value, indent + key.length + 2, indent + 2);
    if (s !== undefined) return [`${pad}${key}: ${s}`];
    return [`${pad}${key}:`, ...lines(value, Array.isArray(value) ? indent : indent + 2)];
  });
}

/** The YAML document go-yaml v2 writes for this JSON value (ends with a newline). */
export function toGoYAML(value: unknown): string {
  const v = value as Json;
  const s = scalar(v, 0, 0);
  return `${s ?? lines(v, 0).join('\n')}\n`;
}
