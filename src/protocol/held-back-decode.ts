/**
 * Reads the relay's retained held-back list (`<prefix>/relay/held-back`) as an agent receives
 * it: validated, never thrown at the caller. An empty payload is a cleared topic (no list).
 */
import * as v from 'valibot';
import { HeldBackSchema, type HeldBack } from './held-back.ts';

export function decodeHeldBack(payload: Uint8Array): { ok: true; heldBack: HeldBack | undefined } | { ok: false; message: string } {
  if (payload.length === 0) return { ok: true, heldBack: undefined };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (e) {
    return { ok: false, message: `held-back list is not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const r = v.safeParse(HeldBackSchema, value);
  if (r.success) return { ok: true, heldBack: r.output };
  const issue = r.issues[0];
  const path = (issue.path ?? []).map((p) => String((p as { key: unknown }).key)).join('.');
  return { ok: false, message: `held-back list: ${path || 'list'}: ${issue.message}` };
}
