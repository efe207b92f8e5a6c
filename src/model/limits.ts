// The limits every parser of outside input keeps (manifests, etcd values, selectors), so a
// hostile or broken input costs a bounded amount of time and memory and is refused with an
// ordinary validation error naming the limit, never an exception or a stack overflow.
// Each number is well above what a real Calico site writes, and far below what would hurt.

const MiB = 1024 * 1024;

/**
 * Bytes per manifest file. 1,000 policies are about 0.4 MiB of YAML and 10,000 HostEndpoints
 * about 3 MiB; a full 4 MiB file parses in about 4 s on one core (the YAML parser is the cost),
 * while the 80 MB file that took 52 s and 4.3 GB is refused from its size alone (a caller can
 * refuse it from `stat`, without reading it). Split larger sets over several files.
 */
export const MAX_MANIFEST_BYTES = 4 * MiB;

/**
 * Bytes per stored etcd value: etcd's default --max-request-bytes is 1.5 MiB, so a default
 * etcd cannot hold a larger value; anything larger is refused before JSON.parse.
 */
export const MAX_STORED_VALUE_BYTES = 1.5 * MiB;

/**
 * Nesting depth of a document (objects and lists). The deepest Calico resource is about 8
 * levels (spec.ingress[0].destination.services.name; managedFields' free-form fieldsV1 a few
 * more); 64 leaves room and keeps every recursive walk far from the stack limit.
 */
export const MAX_DEPTH = 64;

/**
 * YAML alias expansions per document (yaml's maxAliasCount). Anchors and aliases are legal and
 * some sites use them to share rules; a "billion laughs" needs far more than this.
 */
export const MAX_YAML_ALIASES = 100;

/**
 * Entries per list and keys per object, before the schemas run (which then apply Calico's own
 * caps: 1024 rules per direction, 50 ports, 256 nets). 100,000 is more than a 1.5 MiB etcd
 * value can hold (~75,000 CIDRs in a GlobalNetworkSet), so nothing Calico can store is refused.
 */
export const MAX_COLLECTION_ITEMS = 100_000;

/**
 * Documents (and list items) per manifest file: a generated file of 10,000 HostEndpoints is
 * about 3 MiB; more than this in one file is a mistake or an attack ("---" repeated).
 */
export const MAX_DOCUMENTS_PER_FILE = 20_000;

/** Selector length in a resource field (Calico's API: 1024 characters). */
export const MAX_SELECTOR_LENGTH = 1024;

/** Problems reported per resource: the first ones say what is wrong; the rest are counted. */
export const MAX_ERRORS_PER_RESOURCE = 20;

/** Problem lines `validate` prints per file before it only counts the rest. */
export const MAX_PROBLEM_LINES_PER_FILE = 100;

/** Characters of an offending value echoed in a message before it is shortened. */
export const MAX_SHOWN_CHARS = 80;

const formatBytes = (n: number): string =>
  n >= MiB ? `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} bytes`;

/** "… is 80.0 MiB; at most 4 MiB are read (limit)" or undefined when within the limit. */
export function sizeProblem(what: string, bytes: number, limit: number): string | undefined {
  if (bytes <= limit) return undefined;
  return `${what} is ${formatBytes(bytes)}; at most ${formatBytes(limit)} are allowed (limit)`;
}

/** A manifest file's size as `stat` gives it: callers refuse a big file without reading it. */
export function manifestSizeProblem(bytes: number): string | undefined {
  return sizeProblem('the file', bytes, MAX_MANIFEST_BYTES);
}

/** A long string shortened for a message: its start and its length. */
export function clip(s: string, max = MAX_SHOWN_CHARS): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`;
}
