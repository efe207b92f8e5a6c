/**
 * The relay's own status, retained on `<prefix>/relay/status` (QoS 1), for `outpost fleet`: whether
 * its policy tests (`tests`) pass. While they fail, the datastore's newest state is NOT published:
 * `publishedRevision` (the last passing state) stays in force and `failingRevision` is what was
 * held back. Published by a relay started with `tests` only; absent, fleet assumes nothing.
 */
import * as v from 'valibot';
import { canonicalBytes } from './canonical-json.ts';
import { decodeJsonPayload } from './json-payload.ts';

export const MAX_RELAY_STATUS_FAILURES = 20;
const Revision = v.pipe(v.string(), v.regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal revision'));
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

export const RelayTestFailureSchema = v.object({
  test: v.pipe(v.string(), v.maxLength(300)),
  expected: v.pipe(v.string(), v.maxLength(100)),
  got: v.pipe(v.string(), v.maxLength(300)),
});

export const RelayStatusSchema = v.object({
  testsFailing: v.boolean(),
  /** How many tests ran on the last computed state, and how many failed. */
  tests: v.object({ total: Count, failed: Count }),
  /** The revision of the last state published (undefined: nothing passed yet). */
  publishedRevision: v.optional(Revision),
  /** The state held back because its tests failed. */
  failingRevision: v.optional(Revision),
  failures: v.pipe(v.array(RelayTestFailureSchema), v.maxLength(MAX_RELAY_STATUS_FAILURES)),
  /** ISO 8601 time testsFailing last changed. */
  since: v.pipe(v.string(), v.isoTimestamp()),
});

export type RelayStatus = v.InferOutput<typeof RelayStatusSchema>;
export type RelayTestFailure = v.InferOutput<typeof RelayTestFailureSchema>;

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

export function encodeRelayStatus(s: RelayStatus): Uint8Array {
  const failures = s.failures.slice(0, MAX_RELAY_STATUS_FAILURES).map((f) => ({ test: clip(f.test, 300), expected: clip(f.expected, 100), got: clip(f.got, 300) }));
  return canonicalBytes({ ...s, failures });
}

/** Parses a relay status from the broker; never throws. */
export function decodeRelayStatus(payload: Uint8Array): { ok: true; status: RelayStatus } | { ok: false; message: string } {
  const r = decodeJsonPayload(RelayStatusSchema, payload, 'relay status');
  return r.ok ? { ok: true, status: r.value } : { ok: false, message: r.message };
}
