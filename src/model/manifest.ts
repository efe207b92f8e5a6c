// Reads the text of one manifest file (multi-document YAML, JSON object or array,
// `List`/`<Kind>List` wrappers) into validated resources. Invalid resources are
// reported and left out, as Felix treats a resource that fails validation as absent.
// Calico resources that never govern a host (NetworkPolicy, BGPPeer, IPPool, ...) are
// skipped with one warning per file: a site's manifests mix them with host policy.
import { parseAllDocuments } from 'yaml';
import { isOtherCalicoKind, unknownKindMessage } from './calico-kinds.ts';
import { API_VERSION, show } from './common.ts';
import { isResourceKind, type Resource } from './resource.ts';
import { validateResource, type ResourceError, type ResourceWarning } from './validate.ts';

export type ManifestResult = { resources: Resource[]; errors: ResourceError[]; warnings: ResourceWarning[] };

type Parsed = { ok: true; documents: unknown[] } | { ok: false; error: string };

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

function parseDocuments(text: string): Parsed {
  // Strict JSON first for JSON files; anything it rejects goes through the YAML parser,
  // which accepts JSON too and, unlike JSON.parse, reports where the problem is.
  const looksLikeJSON = /^\s*[[{]/.test(text);
  if (looksLikeJSON) {
    try {
      return { ok: true, documents: [JSON.parse(text) as unknown] };
    } catch {
      // fall through
    }
  }
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  // A syntax error anywhere rejects the whole file: where one document ends and the
  // next begins can no longer be trusted.
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) return { ok: false, error: syntaxError(looksLikeJSON ? 'JSON' : 'YAML', err) };
  }
  return { ok: true, documents: list.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown) };
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

export function parseManifest(text: string, source: string): ManifestResult {
  const parsed = parseDocuments(text);
  if (!parsed.ok) return { resources: [], errors: [{ source, path: '', message: parsed.error }], warnings: [] };
  const errors: ResourceError[] = [];
  const warnings: ResourceWarning[] = [];
  const resources: Resource[] = [];
  const skipped: string[] = [];
  for (const candidate of parsed.documents.flatMap((d) => expand(d, source, errors, skipped))) {
    if (isSkippedKind(candidate)) {
      skipped.push(describe(candidate));
      continue;
    }
    const r = validateResource(candidate, source);
    if (r.ok) {
      resources.push(r.resource);
      warnings.push(...r.warnings);
    } else errors.push(...r.errors);
  }
  if (skipped.length > 0) {
    const message = `skipped ${skipped.join(', ')}: outpost does not use these Calico kinds (they never govern a host)`;
    warnings.unshift({ source, path: '', message, skipped });
  }
  return { resources, errors, warnings };
}
