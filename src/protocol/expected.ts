/**
 * What the relay expects a node to hold, retained on `<prefix>/nodes/<node>/expected` (QoS 1):
 * the revision and content hash of the last snapshot it published for that node, and when it was
 * first issued (re-signatures of the same plan do not change it). `outpost fleet` compares it with
 * the hash the node's status reports. An empty retained payload: the relay expects nothing (the
 * node has no host endpoint any more).
 */
import * as v from 'valibot';
import { canonicalBytes } from './canonical-json.ts';
import { decodeJsonPayload } from './json-payload.ts';
import { nodeNameProblem } from './topics.ts';

export const ExpectedSchema = v.object({
  node: v.pipe(v.string(), v.check((n) => nodeNameProblem(n) === undefined, 'must be a node name (DNS-1123 subdomain)')),
  revision: v.pipe(v.string(), v.regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal revision')),
  hash: v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>')),
  /** ISO 8601 time the relay first published this revision and hash for the node. */
  issuedAt: v.pipe(v.string(), v.isoTimestamp()),
});

export type Expected = v.InferOutput<typeof ExpectedSchema>;

export function encodeExpected(e: { node: string; revision: string; hash: string; issuedAt: number }): Uint8Array {
  return canonicalBytes({ node: e.node, revision: e.revision, hash: e.hash, issuedAt: new Date(e.issuedAt).toISOString() } satisfies Expected);
}

/** Parses an expectation from the broker; never throws. */
export function decodeExpected(payload: Uint8Array): { ok: true; expected: Expected } | { ok: false; message: string } {
  const r = decodeJsonPayload(ExpectedSchema, payload, 'expected');
  return r.ok ? { ok: true, expected: r.value } : { ok: false, message: r.message };
}
