/**
 * Short stable hashes for names derived from content (set names, long chain names).
 * node:crypto is a pure function here: no I/O, same bytes in, same name out.
 */
import { createHash } from 'node:crypto';

/** base64url (no padding) of SHA-256, cut to `len` characters. */
export function shortHash(text: string, len = 16): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, len);
}
