// Turns unknown input into a validated Resource, reporting every problem found as a
// ResourceError with a path from the resource root ("spec.ingress[0].source.nets[2]").
//
// Two modes (decode.ts): 'manifest' (the default: files, validate, render, apply) refuses
// unknown fields and fills in a GlobalNetworkPolicy's empty `types` as calicoctl does;
// 'stored' (values read from etcd) ignores unknown fields, returning them as notices, and
// takes `types` as stored (empty means both directions to Felix).
import * as v from 'valibot';
import { CALICO_KINDS, unknownKindMessage } from './calico-kinds.ts';
import { API_VERSION, show } from './common.ts';
import { decodeFields, type DecodeMode, type FieldProblem } from './decode.ts';
import { defaultPolicyTypes } from './global-network-policy.ts';
import { ResourceSchema, isResourceKind, type Resource } from './resource.ts';
import { resourceWarnings } from './warnings.ts';
import { boundsProblem } from './bounds.ts';
import { MAX_ERRORS_PER_RESOURCE, clip } from './limits.ts';

export type ResourceError = { source?: string; kind?: string; name?: string; path: string; message: string };
/**
 * Same shape as an error: something outpost will not act on. `skipped` lists the resources a
 * manifest held of Calico kinds outpost does not load (so `apply` can say it did not store them).
 */
export type ResourceWarning = ResourceError & { readonly skipped?: readonly string[] };

export interface ValidateOptions {
  readonly mode?: DecodeMode;
  /** The caller checked the whole value with boundsProblem already (a manifest's documents). */
  readonly withinBounds?: boolean;
}

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

/** Path segments a limit error names; deeper ones are left out ("…"), the point is made by then. */
export const SHOWN_PATH_SEGMENTS = 12;

export function formatPath(path: readonly (string | number)[], maxSegments = Infinity): string {
  let out = '';
  for (const key of path.slice(0, maxSegments)) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (IDENT_RE.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(clip(key))}]`;
  }
  return path.length > maxSegments ? `${out}…` : out;
}

/**
 * Go's JSON decoding treats null like an absent field; do the same before validating.
 * Recursive: only for values within the depth limit (boundsProblem first).
 */
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

type Result =
  | { ok: true; resource: Resource; warnings: ResourceWarning[]; notices: ResourceWarning[] }
  | { ok: false; errors: ResourceError[]; notices: ResourceWarning[] };

/** calicoctl's client fills in an absent or empty `types` before it stores a policy. */
function applyManifestDefaults(r: Resource): Resource {
  // A staged delete keeps no types (Calico's client clears them).
  if (r.kind === 'StagedGlobalNetworkPolicy' && r.spec.stagedAction !== 'Delete' && (r.spec.types?.length ?? 0) === 0) {
    return { ...r, spec: { ...r.spec, types: defaultPolicyTypes(r.spec) } };
  }
  if (r.kind !== 'GlobalNetworkPolicy' || (r.spec.types?.length ?? 0) > 0) return r;
  return { ...r, spec: { ...r.spec, types: defaultPolicyTypes(r.spec) } };
}

/**
 * Validates one resource. Never throws: a value beyond the limits (limits.ts) is refused with
 * one error naming the limit, at most MAX_ERRORS_PER_RESOURCE problems are listed (the rest
 * counted), and a failure of the code itself is reported as an error of this resource.
 */
export function validateResource(raw: unknown, source?: string, options: ValidateOptions = {}): Result {
  let r: Result;
  try {
    r = validateChecked(raw, source, options);
  } catch (e) {
    const message = `internal error while validating${source === undefined ? '' : ` ${source}`}: ${(e as Error)?.message ?? String(e)}`;
    return { ok: false, errors: [{ ...(source === undefined ? {} : { source }), path: '', message }], notices: [] };
  }
  return r.ok ? r : { ...r, errors: capErrors(r.errors) };
}

/** The first MAX_ERRORS_PER_RESOURCE errors and one more that counts the rest. */
function capErrors(errors: ResourceError[]): ResourceError[] {
  if (errors.length <= MAX_ERRORS_PER_RESOURCE) return errors;
  const first = errors[0]!;
  const more = errors.length - MAX_ERRORS_PER_RESOURCE;
  const { path: _p, message: _m, ...who } = first;
  return [
    ...errors.slice(0, MAX_ERRORS_PER_RESOURCE),
    { ...who, path: '', message: `… and ${more} more problem(s) in this resource (only the first ${MAX_ERRORS_PER_RESOURCE} are listed)` },
  ];
}

function validateChecked(raw: unknown, source: string | undefined, options: ValidateOptions): Result {
  const mode = options.mode ?? 'manifest';
  const base: { source?: string; kind?: string; name?: string } = source === undefined ? {} : { source };
  const toError = (p: FieldProblem): ResourceError => ({ ...base, path: formatPath(p.path), message: p.message });
  const fail = (path: string, message: string): Result => ({ ok: false, errors: [{ ...base, path, message }], notices: [] });

  // Before anything recursive runs (dropNulls, decodeFields, the schemas).
  const bounds = options.withinBounds === true ? undefined : boundsProblem(raw);
  if (bounds) return fail(formatPath(bounds.path, SHOWN_PATH_SEGMENTS), bounds.message);
  const nulled = dropNulls(raw);
  if (typeof nulled !== 'object' || nulled === null || Array.isArray(nulled)) {
    return fail('', `a resource must be an object (got ${Array.isArray(nulled) ? 'a list' : show(nulled)})`);
  }
  const decoded = decodeFields(ResourceSchema, nulled, mode);
  const obj = decoded.value as Record<string, unknown>;
  const meta = obj['metadata'];
  const name = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)['name'] : undefined;
  if (typeof obj['kind'] === 'string') base.kind = obj['kind'];
  if (typeof name === 'string' && name !== '') base.name = name;

  if (obj['kind'] === undefined) return fail('kind', 'kind is required');
  if (!isResourceKind(obj['kind'])) {
    const kind = obj['kind'];
    const known = typeof kind === 'string' && CALICO_KINDS.includes(kind);
    return fail('kind', known || typeof kind !== 'string' ? `kind ${show(kind)} is not supported by outpost` : unknownKindMessage(kind));
  }
  if (obj['apiVersion'] !== API_VERSION) {
    const got = obj['apiVersion'] === undefined ? 'apiVersion is required' : `got ${show(obj['apiVersion'])}`;
    return fail('apiVersion', `apiVersion must be ${API_VERSION} (${got})`);
  }

  const notices = decoded.notices.map(toError);
  const fieldErrors = decoded.errors.map(toError);
  if (decoded.omitted > 0) fieldErrors.push({ ...base, path: '', message: `… and ${decoded.omitted} more unknown or repeated field(s)` });
  const result = v.safeParse(ResourceSchema, obj, { message: fallbackMessage });
  if (result.success && fieldErrors.length === 0) {
    const resource = mode === 'manifest' ? applyManifestDefaults(result.output) : result.output;
    return { ok: true, resource, warnings: resourceWarnings(resource).map(toError), notices };
  }
  const schemaErrors = result.success
    ? []
    : result.issues.map((issue) => ({
        ...base,
        path: formatPath((issue.path ?? []).map((p) => (typeof p.key === 'number' ? p.key : String(p.key)))),
        message: issue.message,
      }));
  return { ok: false, errors: [...fieldErrors, ...schemaErrors], notices };
}
