/**
 * A JSON payload from the broker, checked against its schema: the one reading every retained
 * message (status, expectation, relay status, held-back list) gets, so a bad one is refused with
 * the same kind of sentence everywhere. Never throws.
 */
import * as v from 'valibot';

export type JsonPayload<T> = { ok: true; value: T } | { ok: false; message: string; notJson: boolean };

/**
 * `what` names the value when the problem is the whole of it (no field path): "<field or what>:
 * <reason>". A payload that is not UTF-8 JSON is "not UTF-8 JSON: <reason>", with `notJson` set
 * so a caller can say whose payload it was.
 */
export function decodeJsonPayload<T>(schema: v.GenericSchema<unknown, T>, payload: Uint8Array, what: string): JsonPayload<T> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (e) {
    return { ok: false, message: `not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`, notJson: true };
  }
  const r = v.safeParse(schema, value);
  if (r.success) return { ok: true, value: r.output };
  const issue = r.issues[0];
  const path = (issue.path ?? []).map((p) => String((p as { key: unknown }).key)).join('.');
  return { ok: false, message: `${path || what}: ${issue.message}`, notJson: false };
}
