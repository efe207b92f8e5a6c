// Reads the text of one manifest file (multi-document YAML, JSON object or array,
// `List`/`<Kind>List` wrappers) into validated resources. Invalid resources are
// reported and left out, as Felix treats a resource that fails validation as absent.
// Calico resources that never govern a host (NetworkPolicy, BGPPeer, IPPool, ...) are
// skipped with one warning per file: a site's manifests mix them with host policy.
import { LineCounter, parseAllDocuments } from 'yaml';
import { rememberingRules } from './rule.ts';
import { boundsProblem } from './bounds.ts';
import { isOtherCalicoKind, unknownKindMessage } from './calico-kinds.ts';
import { API_VERSION, show } from './common.ts';
import { scanJSON, type TextProblem } from './json-scan.ts';
import { MAX_DOCUMENTS_PER_FILE, MAX_MANIFEST_BYTES, MAX_YAML_ALIASES, sizeProblem } from './limits.ts';
import { isResourceKind, type Resource } from './resource.ts';
import { SHOWN_PATH_SEGMENTS, formatPath, validateResource, type ResourceError, type ResourceWarning } from './validate.ts';
import { checkYAMLDocument, prescanYAML } from './yaml-scan.ts';
import { fastYAMLDocuments } from './yaml-fast.ts';

export type ManifestResult = { resources: Resource[]; errors: ResourceError[]; warnings: ResourceWarning[] };

type Parsed = { ok: true; documents: Document[] } | { ok: false; error: string };

/** One document of a file: its value, or why it was refused (the file's other documents still count). */
type Document = { ok: true; value: unknown; withinBounds?: true } | { ok: false; error: string };

function syntaxError(
  lang: string,
  e: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] },
): string {
  const first = e.message.split('\n')[0] ?? e.message;
  const reason = first.replace(/ at line \d+, column \d+:?\s*$/, '');
  const pos = e.linePos?.[0];
  return pos
    ? `${lang} syntax error at line ${pos.line}, column ${pos.col}: ${reason}`
    : `${lang} syntax error: ${reason}`;
}

/** "JSON error at line 3, column 5: metadata: duplicate key "name": ..." (same for YAML). */
function textProblem(lang: string, p: TextProblem, doc?: number): string {
  const where = p.line > 0 ? ` at line ${p.line}, column ${p.col}` : '';
  const inDoc = doc === undefined ? '' : `document ${doc}: `;
  const path = p.path.length > 0 ? `${formatPath(p.path, SHOWN_PATH_SEGMENTS)}: ` : '';
  return `${lang} error${where}: ${inDoc}${path}${p.message}`;
}

/** Start of a line that is a YAML document marker ("---"), counted without parsing. */
function countDocumentMarkers(text: string): number {
  let n = text.startsWith('---') ? 1 : 0;
  for (let i = text.indexOf('\n---'); i !== -1; i = text.indexOf('\n---', i + 4)) n++;
  return n;
}

function parseDocuments(text: string, yamlFast: boolean): Parsed {
  // Size first, from the length alone: nothing below may cost more than a bounded parse.
  const tooBig = sizeProblem('the file', Buffer.byteLength(text, 'utf8'), MAX_MANIFEST_BYTES);
  if (tooBig) return { ok: false, error: tooBig };
  // Strict JSON first for JSON files; anything it rejects goes through the YAML parser,
  // which accepts JSON too and, unlike JSON.parse, reports where the problem is.
  const looksLikeJSON = /^\s*[[{]/.test(text);
  if (looksLikeJSON) {
    // Duplicate keys, depth and list sizes before JSON.parse (which keeps the last of two keys).
    const problem = scanJSON(text);
    if (problem) return { ok: false, error: textProblem('JSON', problem) };
    try {
      return { ok: true, documents: [{ ok: true, value: JSON.parse(text) as unknown }] };
    } catch {
      // fall through
    }
  }
  const lang = looksLikeJSON ? 'JSON' : 'YAML';
  const markers = countDocumentMarkers(text);
  if (markers > MAX_DOCUMENTS_PER_FILE) {
    return { ok: false, error: `the file has ${markers} documents; at most ${MAX_DOCUMENTS_PER_FILE} are allowed (limit)` };
  }
  // Bun's parser where it gives the same values; the yaml package for the rest and for every
  // error, whose messages carry the line and column. Bun's parser needs no prescan: it refuses
  // deep nesting with an exception, not a crash, and its values are checked against the depth
  // and size limits (boundsProblem's) before they are used; what fails goes the slow way.
  const fast = looksLikeJSON || !yamlFast ? undefined : fastYAMLDocuments(text);
  if (fast) return { ok: true, documents: fast.map((value): Document => ({ ok: true, value, withinBounds: true })) };
  const deep = prescanYAML(text);
  if (deep) return { ok: false, error: textProblem(lang, deep) };
  const lines = new LineCounter();
  // Duplicate keys are found by checkYAMLDocument, worded as for JSON.
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [];
  // A syntax error anywhere rejects the whole file: where one document ends and the
  // next begins can no longer be trusted.
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) return { ok: false, error: syntaxError(lang, err) };
  }
  const many = list.length > 1;
  const documents = list.map((d, i): Document => {
    const n = many ? i + 1 : undefined;
    const problem = checkYAMLDocument(d, lines);
    if (problem) return { ok: false, error: textProblem(lang, problem, n) };
    try {
      return { ok: true, value: d.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown };
    } catch (e) {
      // yaml throws a ReferenceError for an alias bomb ("Excessive alias count ...").
      const why = e instanceof ReferenceError && /alias/i.test(e.message)
        ? `aliases expand to more than ${MAX_YAML_ALIASES} nodes (limit; "billion laughs")`
        : `cannot build the document: ${(e as Error)?.message ?? String(e)}`;
      return { ok: false, error: `${lang} error: ${n === undefined ? '' : `document ${n}: `}${why}` };
    }
  });
  return { ok: true, documents };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A top-level field as Go's JSON decoding finds it: the exact key, else one equal ignoring case. */
function folded(doc: Record<string, unknown>, name: string): unknown {
  if (name in doc) return doc[name];
  const key = Object.keys(doc).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : doc[key];
}

/** Flattens lists into single resource candidates; records errors for unusable wrappers. */
function expand(doc: unknown, source: string, errors: ResourceError[], skipped: string[]): unknown[] {
  if (doc === null || doc === undefined) return [];
  if (Array.isArray(doc)) return doc.flatMap((d) => expand(d, source, errors, skipped));
  const kind = isObject(doc) ? folded(doc, 'kind') : undefined;
  if (!isObject(doc) || typeof kind !== 'string' || !kind.endsWith('List')) return [doc];
  const items = folded(doc, 'items') ?? [];
  if (!Array.isArray(items)) {
    errors.push({ source, kind, path: 'items', message: `items of a ${kind} must be a list (got ${show(items)})` });
    return [];
  }
  if (kind === 'List') return items.flatMap((d) => expand(d, source, errors, skipped));
  const itemKind = kind.slice(0, -'List'.length);
  if (isOtherCalicoKind(itemKind)) {
    if (items.length > 0) skipped.push(`${kind} (${items.length} item${items.length === 1 ? '' : 's'})`);
    return [];
  }
  if (!isResourceKind(itemKind)) {
    errors.push({ source, kind, path: 'kind', message: unknownKindMessage(kind) });
    return [];
  }
  // Items of a typed list may leave out their own kind and apiVersion.
  return items.map((item: unknown) =>
    isObject(item) ? { apiVersion: folded(doc, 'apiVersion') ?? API_VERSION, kind: itemKind, ...item } : item,
  );
}

/** "NetworkPolicy 'prod/web'" for the warning line. */
function describe(doc: Record<string, unknown>): string {
  const m = folded(doc, 'metadata');
  const meta = isObject(m) ? m : {};
  const n = folded(meta, 'name');
  const namespace = folded(meta, 'namespace');
  const name = typeof n === 'string' ? n : '';
  const ns = typeof namespace === 'string' && namespace !== '' ? `${namespace}/` : '';
  const kind = String(folded(doc, 'kind'));
  return name === '' ? kind : `${kind} '${ns}${name}'`;
}

function isSkippedKind(doc: unknown): doc is Record<string, unknown> {
  if (!isObject(doc)) return false;
  const kind = folded(doc, 'kind');
  return typeof kind === 'string' && isOtherCalicoKind(kind) && folded(doc, 'apiVersion') === API_VERSION;
}

/** Skipped resources named in the warning; the rest are counted (all stay in `skipped`). */
const LIST_SKIPPED_UP_TO = 20;

/** `yamlFast: false` reads YAML with the yaml package only (the differential tests compare both). */
export function parseManifest(text: string, source: string, opts: { yamlFast?: boolean } = {}): ManifestResult {
  try {
    return parseManifestText(text, source, opts.yamlFast ?? true);
  } catch (e) {
    // Last resort: whatever a bug throws is this file's problem, never the caller's loop's.
    const message = `internal error while reading ${source}: ${(e as Error)?.message ?? String(e)}`;
    return { resources: [], errors: [{ source, path: '', message }], warnings: [] };
  }
}

function parseManifestText(text: string, source: string, yamlFast: boolean): ManifestResult {
  const parsed = parseDocuments(text, yamlFast);
  if (!parsed.ok) return { resources: [], errors: [{ source, path: '', message: parsed.error }], warnings: [] };
  const errors: ResourceError[] = [];
  const warnings: ResourceWarning[] = [];
  const resources: Resource[] = [];
  const skipped: string[] = [];
  const many = parsed.documents.length > 1;
  const candidates: unknown[] = [];
  parsed.documents.forEach((doc, i) => {
    if (!doc.ok) return errors.push({ source, path: '', message: doc.error });
    // Before expand and validation, which recurse: refuse what is too deep or too big.
    const problem = doc.withinBounds ? undefined : boundsProblem(doc.value);
    if (problem) {
      const where = [many ? `document ${i + 1}` : '', formatPath(problem.path, SHOWN_PATH_SEGMENTS)].filter((x) => x !== '').join(': ');
      return errors.push({ source, path: where, message: problem.message });
    }
    candidates.push(...expand(doc.value, source, errors, skipped));
  });
  if (candidates.length > MAX_DOCUMENTS_PER_FILE) {
    const message = `the file holds ${candidates.length} resources; at most ${MAX_DOCUMENTS_PER_FILE} are allowed (limit)`;
    return { resources: [], errors: [...errors, { source, path: '', message }], warnings: [] };
  }
  rememberingRules(() => {
    for (const candidate of candidates) {
      if (isSkippedKind(candidate)) {
        skipped.push(describe(candidate));
        continue;
      }
      // Every candidate is part of a document boundsProblem passed above.
      const r = validateResource(candidate, source, { withinBounds: true });
      if (r.ok) {
        resources.push(r.resource);
        warnings.push(...r.warnings);
      } else errors.push(...r.errors);
    }
  });
  if (skipped.length > 0) {
    const listed = skipped.length > LIST_SKIPPED_UP_TO ? [...skipped.slice(0, LIST_SKIPPED_UP_TO), `… and ${skipped.length - LIST_SKIPPED_UP_TO} more`] : skipped;
    const message = `skipped ${listed.join(', ')}: outpost does not use these Calico kinds (they never govern a host)`;
    warnings.unshift({ source, path: '', message, skipped });
  }
  return { resources, errors, warnings };
}
