/**
 * Reads the relay's retained held-back list (`<prefix>/relay/held-back`) as an agent receives
 * it: validated, never thrown at the caller. An empty payload is a cleared topic (no list).
 */
import { HeldBackSchema, type HeldBack } from './held-back.ts';
import { decodeJsonPayload } from './json-payload.ts';

export function decodeHeldBack(payload: Uint8Array): { ok: true; heldBack: HeldBack | undefined } | { ok: false; message: string } {
  if (payload.length === 0) return { ok: true, heldBack: undefined };
  const r = decodeJsonPayload(HeldBackSchema, payload, 'list');
  if (r.ok) return { ok: true, heldBack: r.value };
  return { ok: false, message: r.notJson ? `held-back list is ${r.message}` : `held-back list: ${r.message}` };
}
