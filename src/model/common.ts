// Building blocks shared by every resource schema: Kubernetes/Calico name and label
// rules (§2.1), IANA port names, selector checks, ObjectMeta, and a helper to report
// cross-field problems at a precise path inside valibot's rawCheck.
import * as v from 'valibot';
import { parseSelector } from '../selector/index.ts';
import { parseCIDROrIP, parseIP } from './ip.ts';

export const API_VERSION = 'projectcalico.org/v3';

const LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
export const SUBDOMAIN_RE = new RegExp(`^${LABEL_FMT}(\\.${LABEL_FMT})*$`);
export const DNS_LABEL_RE = new RegExp(`^${LABEL_FMT}$`);
export const GNP_NAME_RE = new RegExp(`^(${LABEL_FMT}\\.)?${LABEL_FMT}$`);
const QUALIFIED_NAME_PART_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export const show = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

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

export function selectorProblem(s: string): string | undefined {
  // Calico treats an empty selector as all(); the parser need not be consulted.
  if (s.trim() === '') return undefined;
  const r = parseSelector(s);
  return r.ok ? undefined : `invalid selector ${show(s)}: ${r.error} (at position ${r.position})`;
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
export const enumSchema = <const T extends readonly (string | number)[]>(values: T, what: string) =>
  v.pipe(
    v.union([v.string(), v.number()], messageFor(`${what} must be one of ${values.join(', ')}`)),
    v.transform((x) => x as T[number]),
    v.check(
      (x) => (values as readonly (string | number)[]).includes(x),
      (i) => (i.input === undefined ? `${what} is required` : `${what} must be one of ${values.join(', ')} (got ${show(i.input)})`),
    ),
  );

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
  v.pipe(v.number(messageFor(`${what} must be a number`)), v.check((n: number) => Number.isFinite(n), messageFor(`${what} must be a finite number`)));

/** A list whose entries must be distinct (CRD listType=set). */
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
        addAt(addIssue, dataset.value, [], `${what} has ${dataset.value.length} entries; at most ${maxItems} are allowed`);
      }
    }),
  );

/** String that must parse as a selector; `forbidGlobal` mirrors the CEL "global(" ban. */
export const selectorSchema = (what: string, forbidGlobal: boolean) =>
  v.pipe(
    stringSchema(what),
    v.maxLength(1024, (i) => `${what} is ${String(i.input).length} characters; at most 1024 are allowed`),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const s = dataset.value;
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
  v.pipe(stringSchema(what), v.check((s) => parseCIDROrIP(s) !== undefined, messageFor(`${what} must be a CIDR or IP address`)));

export const labelsSchema = (what: string, forbiddenKeys: readonly string[] = []) =>
  v.record(
    v.pipe(
      v.string(),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const key = dataset.value;
        const problem = qualifiedNameProblem(key);
        if (problem) addIssue({ message: `invalid ${what} key ${show(key)}: ${problem}` });
        if (forbiddenKeys.includes(key)) addIssue({ message: `${what} key ${show(key)} is reserved and may not be set` });
      }),
    ),
    v.pipe(
      stringSchema(`${what} value`),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const problem = labelValueProblem(dataset.value);
        if (problem) addIssue({ message: `invalid ${what} value ${show(dataset.value)}: ${problem}` });
      }),
    ),
    messageFor(`${what} must be a map of strings`),
  );

const ANNOTATIONS_MAX_BYTES = 256 * 1024;

export const annotationsSchema = v.pipe(
  v.record(
    v.pipe(
      v.string(),
      // k8s checks annotation keys case-insensitively (upper-case prefixes are accepted).
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const problem = qualifiedNameProblem(dataset.value.toLowerCase());
        if (problem) addIssue({ message: `invalid annotation key ${show(dataset.value)}: ${problem}` });
      }),
    ),
    stringSchema('annotation value'),
    messageFor('annotations must be a map of strings'),
  ),
  v.check((a) => {
    const enc = new TextEncoder();
    let total = 0;
    for (const [k, val] of Object.entries(a)) total += enc.encode(k).length + enc.encode(val).length;
    return total <= ANNOTATIONS_MAX_BYTES;
  }, 'annotations total more than 256 KiB'),
);

export type NameRule = { check: (name: string) => string | undefined };

export const subdomainNameRule: NameRule = {
  check: (n) =>
    n.length > 253
      ? `name is ${n.length} characters; at most 253 are allowed`
      : SUBDOMAIN_RE.test(n)
        ? undefined
        : `name ${show(n)} must consist of lower-case alphanumerics, "-" and "." (a DNS-1123 subdomain)`,
};

/**
 * ObjectMeta. Unknown metadata fields are kept (loose) so a resource read from the
 * datastore can be written back unchanged.
 */
export const metadataSchema = (name: NameRule, forbiddenLabelKeys: readonly string[] = []) =>
  v.looseObject(
    {
      name: v.pipe(
        stringSchema('name'),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const problem = dataset.value === '' ? 'name is required' : name.check(dataset.value);
          if (problem) addIssue({ message: problem });
        }),
      ),
      namespace: v.exactOptional(stringSchema('namespace')),
      labels: v.exactOptional(labelsSchema('label', forbiddenLabelKeys)),
      annotations: v.exactOptional(annotationsSchema),
      uid: v.exactOptional(stringSchema('uid')),
      resourceVersion: v.exactOptional(stringSchema('resourceVersion')),
      creationTimestamp: v.exactOptional(stringSchema('creationTimestamp')),
      generation: v.exactOptional(v.number()),
    },
    objectMessage('metadata'),
  );

export type ObjectMeta = v.InferOutput<ReturnType<typeof metadataSchema>>;

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
