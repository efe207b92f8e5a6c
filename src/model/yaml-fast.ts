// The fast path for YAML manifests: Bun's built-in parser, about 10 times faster than the yaml
// package on block-style manifests and without its document trees in memory. It is used only
// where both parsers give the same values; anything else returns undefined and manifest.ts
// parses the text with the yaml package as before (same values, same errors with positions).
//
// Bun.YAML.parse differs from the yaml package on: duplicate keys (Bun keeps the last one
// silently), anchors and aliases (no alias budget of ours), merge keys, tags (Bun ignores
// !!int and friends), explicit "?" keys, directives and "..." markers, signed hex/octal
// numbers ("-0x1" is a string for the yaml package), keys that are not plain names, lone
// surrogates (Bun makes them U+FFFD), and it reports errors without a position. A one-pass
// scan of the text refuses all of those and lists every mapping key it sees; after parsing,
// the values' keys must be exactly that list (as a multiset): a duplicate key merged away by
// Bun, or anything the scan misread, shows as a difference and sends the file to the yaml
// package.
import { MAX_COLLECTION_ITEMS, MAX_DEPTH } from './limits.ts';

/** What the scan found: the number of documents and every mapping key, counted. */
interface TextScan {
  readonly docs: number;
  readonly keys: Map<string, number>;
  readonly keyCount: number;
}

/** Plain keys the two parsers read the same way: names, never null, numbers or indicators. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
/** Where a plain scalar ends: a ":" indicator, a comment, the line end (and in flow, a flow indicator). */
const PLAIN_END_BLOCK = /:(?=[ \t\r\n]|$)|[ \t\r]#|\n/g;
/**
 * A whole block-context line the token loop would accept, with nothing to track across lines:
 * "- " prefixes, an optional plain key (group 1), and an optional value that is a one-line
 * plain scalar (not starting with an indicator, no ": " or " #" inside, not a signed hex,
 * octal or binary number) or a one-line quoted scalar; then blanks and a comment, if any.
 */
const SIMPLE_LINE = new RegExp(
  String.raw`(?:-[ \t]+)*` +
    String.raw`(?:([A-Za-z_][A-Za-z0-9_./-]*)[ \t]*:(?:[ \t]+|(?=\r?(?:\n|$))))?` +
    String.raw`(?:(?![+-]0[xXoObB])[^\s\-?:,[\]{}#&*!|>'"%@\x60](?:[^\n:#]|:(?![ \t\r\n]|$)|(?<![ \t\r])#)*` +
    String.raw`|"(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*')?` +
    String.raw`(?:[ \t\r]+(?:#[^\n]*)?)?(?=\n|$)`,
  'y',
);
const PLAIN_END_FLOW = /:(?=[ \t\r\n,[\]{}]|$)|[ \t\r]#|[,[\]{}\n]/g;
const NULL_WORDS = new Set(['null', 'Null', 'NULL']);
/** A plain scalar the yaml package keeps as a string and Bun reads as a number. */
const SIGNED_RADIX = /^[-+]0[xXoObB]/;

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const isBlank = (c: number) => c === SPACE || c === TAB || c === CR;
/** End of a token: blank, line end or end of text (NaN). */
const endsToken = (c: number) => isBlank(c) || c === LF || Number.isNaN(c);
const isFlowIndicator = (c: number) => c === 0x2c || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d;

/**
 * Scans `text` for what only the yaml package handles the same way as before; undefined when
 * it finds any of it (or anything it does not follow).
 */
export function scanYAMLText(text: string): TextScan | undefined {
  const n = text.length;
  const keys = new Map<string, number>();
  let keyCount = 0;
  const addKey = (k: string) => {
    keys.set(k, (keys.get(k) ?? 0) + 1);
    keyCount++;
  };
  let markers = 0;
  let contentBeforeMarker = false;
  let flow = 0;
  // A block scalar ("|", ">") runs over the following lines indented deeper than its parent.
  let blockParent = -1;
  let i = 0;
  while (i < n) {
    const lineStart = i;
    let eol = text.indexOf('\n', i);
    if (eol < 0) eol = n;
    let j = i;
    while (j < eol && text.charCodeAt(j) === SPACE) j++;
    const indent = j - lineStart;
    i = eol + 1;
    if (blockParent >= 0) {
      let k = j;
      while (k < eol && isBlank(text.charCodeAt(k))) k++;
      if (k === eol || indent > blockParent) continue;
      blockParent = -1;
    }
    if (indent === 0 && flow === 0) {
      const c = text.charCodeAt(j);
      if (text.startsWith('---', j) && endsToken(text.charCodeAt(j + 3))) {
        // Nothing may follow the marker on its line but a comment.
        const rest = text.slice(j + 3, eol).trim();
        if (rest !== '' && !rest.startsWith('#')) return undefined;
        markers++;
        continue;
      }
      if (text.startsWith('...', j) && endsToken(text.charCodeAt(j + 3))) return undefined;
      if (c === 0x25 /* % */) return undefined;
    }
    if (text.charCodeAt(j) === TAB) return undefined;
    // Most lines of a manifest are "key: value", "- key: value" or "- value": one regex match,
    // rather than the token loop below (the agent runs with raised JIT thresholds, where
    // native regex code is far faster than an interpreted loop over every character).
    if (flow === 0) {
      SIMPLE_LINE.lastIndex = j;
      const m = SIMPLE_LINE.exec(text);
      if (m !== null && SIMPLE_LINE.lastIndex === eol) {
        const key = m[1];
        if (key !== undefined) {
          if (NULL_WORDS.has(key)) return undefined;
          addKey(key);
        }
        const c = text.charCodeAt(j);
        if (markers === 0 && j < eol && c !== 0x23 && c !== CR) contentBeforeMarker = true;
        continue;
      }
    }
    // The column of the node a block scalar header on this line belongs to (a key or a "-").
    let owner = -1;
    while (j < eol) {
      const c = text.charCodeAt(j);
      if (isBlank(c)) {
        j++;
        continue;
      }
      if (c === 0x23 /* # */) break;
      if (markers === 0) contentBeforeMarker = true;
      const next = text.charCodeAt(j + 1);
      if (flow === 0 && c === 0x2d /* - */ && endsToken(next)) {
        owner = j - lineStart;
        j++;
        continue;
      }
      if (c === 0x7c /* | */ || c === 0x3e /* > */) {
        if (flow > 0 || owner < 0) return undefined;
        blockParent = owner;
        break;
      }
      if (c === 0x5b || c === 0x7b) {
        flow++;
        j++;
        continue;
      }
      if (c === 0x5d || c === 0x7d) {
        if (flow === 0) return undefined;
        flow--;
        j++;
        continue;
      }
      if (c === 0x2c /* , */) {
        if (flow === 0) return undefined;
        j++;
        continue;
      }
      if (c === 0x22 /* " */ || c === 0x27 /* ' */) {
        let k = j + 1;
        for (; k < n; k++) {
          const d = text.charCodeAt(k);
          if (c === 0x22 && d === 0x5c) k++;
          else if (d === c) {
            if (c === 0x27 && text.charCodeAt(k + 1) === 0x27) k++;
            else break;
          }
        }
        if (k >= n) return undefined;
        const inner = text.slice(j + 1, k);
        let m = k + 1;
        while (m < n && (text.charCodeAt(m) === SPACE || text.charCodeAt(m) === TAB)) m++;
        const isKey = text.charCodeAt(m) === 0x3a && (flow > 0 || endsToken(text.charCodeAt(m + 1)));
        if (isKey) {
          // Escapes and line folding are the parsers' business: such keys go the slow way.
          if (inner.includes('\n') || inner.includes(c === 0x22 ? '\\' : "''")) return undefined;
          addKey(inner);
          owner = j - lineStart;
          j = m + 1;
        } else j = k + 1;
        if (k >= eol) {
          // A quoted scalar over several lines: go on after it, on its last line.
          let e = text.indexOf('\n', j);
          if (e < 0) e = n;
          eol = e;
          i = e + 1;
        }
        continue;
      }
      // Anchors, aliases, tags, explicit keys, reserved indicators, an empty key.
      if (c === 0x26 || c === 0x2a || c === 0x21 || c === 0x25 || c === 0x40 || c === 0x60) return undefined;
      if ((c === 0x3f /* ? */ || c === 0x3a /* : */) && (endsToken(next) || (flow > 0 && isFlowIndicator(next)))) return undefined;
      // A plain scalar: up to ": ", " #", the line end, or (in flow) a flow indicator. Found by
      // a regex search, not a character loop: the agent runs with raised JIT thresholds, where
      // native regex code is much faster than an interpreted loop over every character.
      const end = flow > 0 ? PLAIN_END_FLOW : PLAIN_END_BLOCK;
      end.lastIndex = j;
      const m = end.exec(text);
      const k = m === null || m.index > eol ? eol : m.index;
      if (k < eol && text.charCodeAt(k) === 0x3a) {
        let e = k;
        while (e > j && isBlank(text.charCodeAt(e - 1))) e--;
        const word = text.slice(j, e);
        if (!PLAIN_KEY.test(word) || NULL_WORDS.has(word)) return undefined;
        addKey(word);
        owner = j - lineStart;
        j = k + 1;
        continue;
      }
      // "-0x1", "+0o7", "-0b1": numbers to Bun, strings to the yaml package.
      if ((c === 0x2d || c === 0x2b) && next === 0x30 && SIGNED_RADIX.test(text.slice(j, j + 3))) return undefined;
      if (k < eol && text.charCodeAt(k) !== LF && isBlank(text.charCodeAt(k))) break; // " #": a comment
      j = k;
    }
  }
  if (flow !== 0) return undefined;
  return { docs: markers + (contentBeforeMarker ? 1 : 0), keys, keyCount };
}

/**
 * True when the parsed documents hold exactly the keys the scan listed, stay within the depth
 * and size limits, and share no object (an alias the scan missed).
 */
function matchesScan(docs: readonly unknown[], scan: TextScan): boolean {
  const left = new Map(scan.keys);
  let remaining = scan.keyCount;
  const seen = new Set<object>();
  // Only objects and arrays are stacked (scalars need no visit), with their depths alongside:
  // no small object per node.
  const stack: object[] = [];
  const depths: number[] = [];
  const push = (v: unknown, depth: number) => {
    if (typeof v === 'object' && v !== null) {
      stack.push(v);
      depths.push(depth);
    }
  };
  for (const d of docs) push(d, 0);
  while (stack.length > 0) {
    const v = stack.pop()!;
    const depth = depths.pop()!;
    if (seen.has(v) || depth + 1 > MAX_DEPTH) return false;
    seen.add(v);
    if (Array.isArray(v)) {
      if (v.length > MAX_COLLECTION_ITEMS) return false;
      for (const item of v) push(item, depth + 1);
      continue;
    }
    if (Object.getPrototypeOf(v) !== Object.prototype) return false;
    const ks = Object.keys(v);
    if (ks.length > MAX_COLLECTION_ITEMS) return false;
    for (const k of ks) {
      const count = left.get(k);
      if (!count) return false;
      left.set(k, count - 1);
      remaining--;
      push((v as Record<string, unknown>)[k], depth + 1);
    }
  }
  return remaining === 0;
}

type BunYAML = { parse(text: string): unknown };
const bunYAML = (globalThis as { Bun?: { YAML?: BunYAML } }).Bun?.YAML;

/**
 * The documents of a YAML text when Bun's parser gives exactly what the yaml package would;
 * undefined when the yaml package must read it (unsupported feature, error, any doubt).
 */
export function fastYAMLDocuments(text: string): unknown[] | undefined {
  if (typeof bunYAML?.parse !== 'function') return undefined;
  // Bun reads a lone surrogate as U+FFFD, the yaml package keeps it (decoded files have none).
  if (!text.isWellFormed()) return undefined;
  const scan = scanYAMLText(text);
  if (!scan) return undefined;
  let parsed: unknown;
  try {
    parsed = bunYAML.parse(text);
  } catch {
    return undefined;
  }
  let docs: unknown[];
  // No document: only comments and blank lines, which Bun reads as null.
  if (scan.docs === 0) {
    if (parsed !== null && parsed !== undefined) return undefined;
    docs = [];
  } else if (scan.docs === 1) docs = [parsed];
  else if (Array.isArray(parsed) && parsed.length === scan.docs) docs = parsed;
  else return undefined;
  return matchesScan(docs, scan) ? docs : undefined;
}
