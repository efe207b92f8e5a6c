/**
 * What the etcd v3 JSON gateway (grpc-gateway over etcdserverpb) sends back, as valibot
 * schemas. The gateway is external input: every response is checked before use, and a
 * response that does not fit is an error that names the field, never a silent default.
 *
 * Gateway conventions relied on here (checked against etcd 3.4):
 * - proto field names are kept (`mod_revision`, not `modRevision`);
 * - int64/uint64 are JSON strings, so revisions stay exact: they are kept as decimal strings;
 * - bytes are base64; fields at their zero value (false, 0, empty) are left out.
 */
import * as v from 'valibot';

const DECIMAL_RE = /^-?\d+$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** int64 as the gateway writes it; a bare JSON number is accepted too (some proxies re-encode). */
export const Int64Schema = v.pipe(
  v.union([v.string(), v.number()]),
  v.transform((x) => (typeof x === 'number' ? (Number.isSafeInteger(x) ? String(x) : 'NaN') : x)),
  v.check((s) => DECIMAL_RE.test(s), 'must be a decimal integer'),
);

const Base64Schema = v.pipe(v.string(), v.check((s) => BASE64_RE.test(s), 'must be base64'));

export const HeaderSchema = v.object({
  revision: v.optional(Int64Schema, '0'),
  cluster_id: v.optional(Int64Schema),
  member_id: v.optional(Int64Schema),
  raft_term: v.optional(Int64Schema),
});

export const KeyValueSchema = v.object({
  key: Base64Schema,
  create_revision: v.optional(Int64Schema, '0'),
  mod_revision: v.optional(Int64Schema, '0'),
  version: v.optional(Int64Schema, '0'),
  value: v.optional(Base64Schema, ''),
  lease: v.optional(Int64Schema),
});
export type GatewayKeyValue = v.InferOutput<typeof KeyValueSchema>;

export const RangeResponseSchema = v.object({
  header: HeaderSchema,
  kvs: v.optional(v.array(KeyValueSchema), []),
  more: v.optional(v.boolean(), false),
  count: v.optional(Int64Schema, '0'),
});

export const PutResponseSchema = v.object({
  header: HeaderSchema,
  prev_kv: v.optional(KeyValueSchema),
});

export const DeleteRangeResponseSchema = v.object({
  header: HeaderSchema,
  deleted: v.optional(Int64Schema, '0'),
  prev_kvs: v.optional(v.array(KeyValueSchema), []),
});

export const ResponseOpSchema = v.object({
  response_range: v.optional(RangeResponseSchema),
  response_put: v.optional(PutResponseSchema),
  response_delete_range: v.optional(DeleteRangeResponseSchema),
});

export const TxnResponseSchema = v.object({
  header: HeaderSchema,
  succeeded: v.optional(v.boolean(), false),
  responses: v.optional(v.array(ResponseOpSchema), []),
});

export const CompactionResponseSchema = v.object({ header: HeaderSchema });

export const AuthenticateResponseSchema = v.object({
  header: v.optional(v.unknown()),
  token: v.pipe(v.string(), v.minLength(1), v.maxLength(4096)),
});

export const StatusResponseSchema = v.object({
  header: HeaderSchema,
  version: v.optional(v.string(), ''),
});

export const WatchEventSchema = v.object({
  type: v.optional(v.picklist(['PUT', 'DELETE']), 'PUT'),
  kv: KeyValueSchema,
  prev_kv: v.optional(KeyValueSchema),
});

export const WatchResultSchema = v.object({
  header: v.optional(HeaderSchema, { revision: '0' }),
  watch_id: v.optional(Int64Schema),
  created: v.optional(v.boolean(), false),
  canceled: v.optional(v.boolean(), false),
  compact_revision: v.optional(Int64Schema, '0'),
  cancel_reason: v.optional(v.string(), ''),
  fragment: v.optional(v.boolean(), false),
  events: v.optional(v.array(WatchEventSchema), []),
});
export type GatewayWatchResult = v.InferOutput<typeof WatchResultSchema>;

/**
 * Errors: unary calls answer `{error, message, code}`; inside a watch stream grpc-gateway
 * versions differ (`{"error": {grpc_code, http_code, message, http_status}}`), so both fit.
 */
export const GatewayErrorSchema = v.object({
  error: v.union([
    v.string(),
    v.object({
      grpc_code: v.optional(v.number()),
      http_code: v.optional(v.number()),
      message: v.optional(v.string()),
      http_status: v.optional(v.string()),
    }),
  ]),
  message: v.optional(v.string()),
  code: v.optional(v.number()),
});

export const WatchLineSchema = v.union([v.object({ result: WatchResultSchema }), GatewayErrorSchema]);

/** "header.revision: must be a decimal integer" — the first problem, with where it is. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return 'unexpected shape';
  const path = (first.path ?? []).map((p) => String(p.key)).join('.');
  return path ? `${path}: ${first.message}` : first.message;
}

export type GatewayError = v.InferOutput<typeof GatewayErrorSchema>;

/** The gRPC status code and message carried by a gateway error body. */
export function errorDetails(e: GatewayError): { grpcCode: number | undefined; message: string } {
  if (typeof e.error === 'string') return { grpcCode: e.code, message: e.message ?? e.error };
  return { grpcCode: e.error.grpc_code ?? e.code, message: e.error.message ?? e.message ?? 'unknown error' };
}
