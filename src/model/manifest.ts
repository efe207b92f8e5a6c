// Reads the text of one manifest file (multi-document YAML, JSON object or array,
// `List`/`<Kind>List` wrappers) into validated resources. Invalid resources are
// reported and left out, as Felix treats a resource that fails validation as absent.
import { parseAllDocuments } from 'yaml';
import { API_VERSION, show } from './common.ts';
import { isResourceKind, type Resource } from './resource.ts';
import { validateResource, type ResourceError } from './validate.ts';

export type ManifestResult = { resources: Resource[]; errors: ResourceError[] };

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

/** Flattens lists into single resource candidates; records errors for unusable wrappers. */
function expand(doc: unknown, source: string, errors: ResourceError[]): unknown[] {
  if (doc === null || doc === undefined) return [];
  if (Array.isArray(doc)) return doc.flatMap((d) => expand(d, source, errors));
  if (!isObject(doc) || typeof doc['kind'] !== 'string' || !doc['kind'].endsWith('List')) return [doc];
  const kind = doc['kind'];
  const items = doc['items'] ?? [];
  if (!Array.isArray(items)) {
    errors.push({ source, kind, path: 'items', message: `items of a ${kind} must be a list (got ${show(items)})` });
    return [];
  }
  if (kind === 'List') return items.flatMap((d) => expand(d, source, errors));
  const itemKind = kind.slice(0, -'List'.length);
  if (!isResourceKind(itemKind)) {
    errors.push({ source, kind, path: 'kind', message: `kind ${kind} is not supported by outpost` });
    return [];
  }
  // Items of a typed list may leave out their own kind and apiVersion.
  return items.map((item: unknown) =>
    isObject(item) ? { apiVersion: doc['apiVersion'] ?? API_VERSION, kind: itemKind, ...item } : item,
  );
}

export function parseManifest(text: string, source: string): ManifestResult {
  const parsed = parseDocuments(text);
  if (!parsed.ok) return { resources: [], errors: [{ source, path: '', message: parsed.error }] };
  const errors: ResourceError[] = [];
  const resources: Resource[] = [];
  for (const candidate of parsed.documents.flatMap((d) => expand(d, source, errors))) {
    const r = validateResource(candidate, source);
    if (r.ok) resources.push(r.resource);
    else errors.push(...r.errors);
  }
  return { resources, errors };
}
