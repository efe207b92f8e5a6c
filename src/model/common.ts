// Building blocks shared by every resource schema: name and label syntax, IANA
// port names, selector checks, message helpers, schema helpers that keep objects typed
// so cross-field checks still run, and `addAt` to report at a path from a rawCheck.
import * as v from 'valibot';
import { parseSelector } from '../selector/index.ts';
import { parseCIDROrIP, parseIP } from '../net/ip.ts';
import { MAX_SELECTOR_LENGTH, MAX_SHOWN_CHARS, clip } from './limits.ts';
import { isCanonicalV4Host } from '../net/host-lists.ts';

export const API_VERSION = 'projectcalico.org/v3';

const LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
export const SUBDOMAIN_RE = new RegExp(`^${LABEL_FMT}(\\.${LABEL_FMT})*$`);
export const DNS_LABEL_RE = new RegExp(`^${LABEL_FMT}$`);
export const GNP_NAME_RE = new RegExp(`^(${LABEL_FMT}\\.)?${LABEL_FMT}$`);
const QUALIFIED_NAME_PART_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Lists longer than this are described by their length, not printed. */
const SHOW_LIST_UP_TO = 20;

/**
 * A value as a message quotes it; never longer than about MAX_SHOWN_CHARS (a 20,000-character
 * selector is echoed as its start and its length, a list of 300,000 ports by its length).
 */
export const show = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') {
    if (value.length <= MAX_SHOWN_CHARS) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, MAX_SHOWN_CHARS))}… (${value.length} characters)`;
  }
  if (Array.isArray(value) && value.length > SHOW_LIST_UP_TO) return `a list of ${value.length} entries`;
  try {
    return clip(JSON.stringify(value) ?? String(value));
  } catch {
    return Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : typeof value;
  }
};

export function isSubdomain(s: string): boolean {
  return s.length <= 253 && SUBDOMAIN_RE.test(s);
}

/** k8s IsQualifiedName: `[prefix/]name`, prefix a DNS subdomain, name ≤63 chars. */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a qualified name must have at most one "/"';
  const name = parts.length === 2 ? (parts[1] ?? '') : key;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') return 'the prefix before "/" must not be empty';
    if (!isSubdomain(prefix)) return `prefix ${show(prefix)} must be a lower-case DNS subdomain`;
  }
  if (name === '') return 'the name part must not be empty';
  if (name.length > 63) return 'the name part must be at most 63 characters';
  if (!QUALIFIED_NAME_PART_RE.test(name)) {
    return 'the name part must be alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric';
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return 'must be at most 63 characters';
  if (!QUALIFIED_NAME_PART_RE.test(value)) {
    return 'must be alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric';
  }
  return undefined;
}

/** k8s IsValidPortName (IANA service name), which Calico uses for named ports. */
export function portNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 15) return 'must be 1-15 characters';
  if (!/^[-a-z0-9]+$/.test(name)) return 'must contain only lower-case letters, digits and "-"';
  if (!/[a-z]/.test(name)) return 'must contain at least one letter';
  if (name.includes('--')) return 'must not contain "--"';
  if (name.startsWith('-') || name.endsWith('-')) return 'must not start or end with "-"';
  return undefined;
}

/**
 * Selectors already judged, text → problem (or '' when valid): a site's policies repeat a few
 * selectors thousands of times, and parsing one (canonical form, id hash, compiled evaluator)
 * costs far more than a lookup. Bounded: cleared when full, so hostile input cannot grow it.
 */
const judged = new Map<string, string>();
const JUDGED_MAX = 4096;

export function selectorProblem(s: string): string | undefined {
  // Calico treats an empty selector as all(); the parser need not be consulted.
  if (s.trim() === '') return undefined;
  let problem = judged.get(s);
  if (problem === undefined) {
    const r = parseSelector(s);
    problem = r.ok ? '' : `invalid selector ${show(s)}: ${r.error} (at position ${r.position})`;
    if (judged.size >= JUDGED_MAX) judged.clear();
    judged.set(s, problem);
  }
  return problem === '' ? undefined : problem;
}

export const messageFor = (what: string) => (issue: v.BaseIssue<unknown>) => `${what} (got ${show(issue.input)})`;

/**
 * Message for an object schema: valibot reports a missing required key through the
 * object's own message, so name the key in that case.
 */
export const objectMessage = (what: string) => (issue: v.BaseIssue<unknown>) => {
  const expected = issue.expected ?? '';
  if (issue.input === undefined && expected.startsWith('"')) return `${expected.slice(1, -1)} is required`;
  return `${what} must be an object (got ${show(issue.input)})`;
};

/**
 * A closed set of strings or numbers. Implemented as a check rather than a picklist
 * so that a bad value does not mark the enclosing object untyped, which would skip
 * that object's cross-field checks and hide their errors.
 */
/**
 * A string or a number (not NaN), failing with `message` like `v.union([v.number(), v.string()],
 * message)` does, but one check instead of a union: a union builds an issue for each option its
 * input fails on the way (a string port or protocol fails v.number() first), and the hot fields
 * of a manifest (actions, protocols, ports) are all of this type.
 */
export const numberOrString = (message: (issue: v.BaseIssue<unknown>) => string) =>
  v.custom<number | string>((x) => typeof x === 'string' || (typeof x === 'number' && !Number.isNaN(x)), message);

export const enumSchema = <const T extends readonly (string | number)[]>(values: T, what: string) =>
  v.pipe(
    numberOrString(messageFor(`${what} must be one of ${values.join(', ')}`)),
    v.transform((x) => x as T[number]),
    v.check(
      (x) => (values as readonly (string | number)[]).includes(x),
      (i) =>
        i.input === undefined
          ? `${what} is required`
          : `${what} must be one of ${values.join(', ')} (got ${show(i.input)})`,
    ),
  );

const isPlainObject = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * valibot's object and record schemas accept arrays; Go's JSON decoding does not. It
 * matters: `destination: [ {ports: [80]} ]` must not quietly become "any destination".
 */
export const noArray = <S extends v.GenericSchema>(schema: S, what: string, expected = 'an object') =>
  v.pipe(
    v.custom<unknown>(isPlainObject, (i) => `${what} must be ${expected} (got ${show(i.input)})`),
    schema,
  );

export const obj = <E extends v.ObjectEntries>(entries: E, what: string) =>
  noArray(v.object(entries, objectMessage(what)), what);

export const stringSchema = (what: string) => v.string(messageFor(`${what} must be a string`));
export const boolSchema = (what: string) => v.boolean(messageFor(`${what} must be true or false`));

export const intInRange = (what: string, min: number, max: number) =>
  v.pipe(
    v.number(messageFor(`${what} must be an integer from ${min} to ${max}`)),
    v.check(
      (n) => Number.isInteger(n) && n >= min && n <= max,
      messageFor(`${what} must be an integer from ${min} to ${max}`),
    ),
  );

export const finiteNumber = (what: string) =>
  v.pipe(
    v.number(messageFor(`${what} must be a number`)),
    v.check((n: number) => Number.isFinite(n), messageFor(`${what} must be a finite number`)),
  );

/** A list whose entries must be distinct (CRD listType=set). */
/**
 * A list schema that refuses more than `max` entries before any entry is validated, so a
 * million bad ports cost one error, not a million.
 */
export const boundedArray = <T extends v.GenericSchema>(
  item: T,
  max: number,
  tooMany: (length: number) => string,
  notAList: string,
) =>
  v.pipe(
    v.custom<unknown>((x) => !Array.isArray(x) || x.length <= max, (i) => tooMany((i.input as unknown[]).length)),
    v.array(item, messageFor(notAList)),
  );

export const uniqueList = <T extends v.GenericSchema>(item: T, what: string, maxItems?: number) =>
  v.pipe(
    v.array(item, messageFor(`${what} must be a list`)),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const seen = new Set<string>();
      dataset.value.forEach((entry, i) => {
        const key = JSON.stringify(entry);
        if (seen.has(key)) addAt(addIssue, dataset.value, [i], `duplicate entry ${show(entry)} in ${what}`);
        seen.add(key);
      });
      if (maxItems !== undefined && dataset.value.length > maxItems) {
        addAt(
          addIssue,
          dataset.value,
          [],
          `${what} has ${dataset.value.length} entries; at most ${maxItems} are allowed`,
        );
      }
    }),
  );

/** String that must parse as a selector; `forbidGlobal` mirrors the CEL "global(" ban. */
export const selectorSchema = (what: string, forbidGlobal: boolean) =>
  v.pipe(
    stringSchema(what),
    v.maxLength(
      MAX_SELECTOR_LENGTH,
      (i) => `${what} is ${String(i.input).length} characters; at most ${MAX_SELECTOR_LENGTH} are allowed (limit)`,
    ),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const s = dataset.value;
      if (s.length > MAX_SELECTOR_LENGTH) return; // refused above; not parsed, not echoed again
      if (forbidGlobal && s.includes('global(')) {
        addIssue({ message: `global() is only allowed in an entity rule's namespaceSelector (got ${show(s)})` });
        return;
      }
      const problem = selectorProblem(s);
      if (problem) addIssue({ message: problem });
    }),
  );

export const ipAddressSchema = (what: string) =>
  v.pipe(
    stringSchema(what),
    v.check((s) => parseIP(s) !== undefined, messageFor(`${what} must be a plain IPv4 or IPv6 address, not a CIDR`)),
  );

/** CIDR or bare IP; host bits may be set (Calico's `cidr` validator). */
export const looseCidrSchema = (what: string) =>
  v.pipe(
    stringSchema(what),
    // Canonical "a.b.c.d/32" (what big address lists are made of) passes on a character walk.
    v.check((s) => isCanonicalV4Host(s) || parseCIDROrIP(s) !== undefined, messageFor(`${what} must be a CIDR or IP address`)),
  );

// ---- issue paths ---------------------------------------------------------------

type AddIssue = (info: { message: string; path?: [v.IssuePathItem, ...v.IssuePathItem[]] }) => void;

/** Reports `message` at `path` below the value a rawCheck is looking at. */
export function addAt(addIssue: AddIssue, root: unknown, path: readonly (string | number)[], message: string): void {
  const items: v.IssuePathItem[] = [];
  let cur: unknown = root;
  for (const key of path) {
    if (typeof key === 'number' && Array.isArray(cur)) {
      const value: unknown = cur[key];
      items.push({ type: 'array', origin: 'value', input: cur, key, value });
      cur = value;
    } else {
      const input = (typeof cur === 'object' && cur !== null ? cur : {}) as Record<string, unknown>;
      const value = input[String(key)];
      items.push({ type: 'object', origin: 'value', input, key: String(key), value });
      cur = value;
    }
  }
  const [first, ...rest] = items;
  addIssue(first ? { message, path: [first, ...rest] } : { message });
}
