// Turns unknown input into a validated Resource, reporting every problem found as a
// ResourceError with a path from the resource root ("spec.ingress[0].source.nets[2]").
import * as v from 'valibot';
import { API_VERSION, show } from './common.ts';
import { ResourceSchema, isResourceKind, type Resource } from './resource.ts';

export type ResourceError = { source?: string; kind?: string; name?: string; path: string; message: string };

/** e.g. "policies/web.yaml: GlobalNetworkPolicy 'allow-web': spec.ingress[0]: <message>" */
export function formatResourceError(e: ResourceError): string {
  const parts: string[] = [];
  if (e.source) parts.push(e.source);
  if (e.kind && e.name) parts.push(`${e.kind} '${e.name}'`);
  else if (e.kind) parts.push(e.kind);
  else if (e.name) parts.push(`'${e.name}'`);
  if (e.path) parts.push(e.path);
  parts.push(e.message);
  return parts.join(': ');
}

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (IDENT_RE.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** Go's JSON decoding treats null like an absent field; do the same before validating. */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(value)) {
    if (val !== null && val !== undefined) out[k] = dropNulls(val);
  }
  return out;
}

// Wording for the issues our schemas leave to valibot (missing keys, wrong types).
function fallbackMessage(issue: v.BaseIssue<unknown>): string {
  const last = issue.path?.[issue.path.length - 1];
  if (last && last.type === 'object' && last.origin === 'key' && issue.input === undefined) {
    return `${String(last.key)} is required`;
  }
  if (issue.kind === 'schema' && issue.type === 'literal') return `must be ${issue.expected} (got ${issue.received})`;
  if (issue.kind === 'schema') return `expected ${issue.expected ?? 'a different value'}, got ${show(issue.input)}`;
  return issue.message;
}

type Result = { ok: true; resource: Resource } | { ok: false; errors: ResourceError[] };

export function validateResource(raw: unknown, source?: string): Result {
  const input = dropNulls(raw);
  const base: { source?: string; kind?: string; name?: string } = source === undefined ? {} : { source };
  const fail = (path: string, message: string): Result => ({ ok: false, errors: [{ ...base, path, message }] });

  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail('', `a resource must be an object (got ${Array.isArray(input) ? 'a list' : show(input)})`);
  }
  const obj = input as Record<string, unknown>;
  const meta = obj['metadata'];
  const name = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)['name'] : undefined;
  if (typeof obj['kind'] === 'string') base.kind = obj['kind'];
  if (typeof name === 'string' && name !== '') base.name = name;

  if (obj['kind'] === undefined) return fail('kind', 'kind is required');
  if (!isResourceKind(obj['kind'])) return fail('kind', `kind ${show(obj['kind'])} is not supported by outpost`);
  if (obj['apiVersion'] !== API_VERSION) {
    const got = obj['apiVersion'] === undefined ? 'apiVersion is required' : `got ${show(obj['apiVersion'])}`;
    return fail('apiVersion', `apiVersion must be ${API_VERSION} (${got})`);
  }

  const result = v.safeParse(ResourceSchema, obj, { message: fallbackMessage });
  if (result.success) return { ok: true, resource: result.output };
  return {
    ok: false,
    errors: result.issues.map((issue) => ({
      ...base,
      path: formatPath((issue.path ?? []).map((p) => (typeof p.key === 'number' ? p.key : String(p.key)))),
      message: issue.message,
    })),
  };
}
