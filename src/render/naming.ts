/**
 * Names inside the `inet outpost` table: every chain and set name outpost creates is built
 * here, so the layout can be read in one place.
 *
 *   base chains     raw-prerouting raw-output mangle-prerouting filter-input filter-output filter-forward
 *   dispatch        d-<stage>                   interface -> endpoint chain (goto)
 *   endpoint        <stage>-<hep>               fh/th (filter in/out), fhfw/thfw (forward),
 *                                               rfh/rth (raw, untracked), mfh (mangle, pre-DNAT)
 *   policy          pi-<name> / po-<name>       a policy's ingress / egress rules (shared by endpoints)
 *   profile         pri-<name> / pro-<name>
 *   staged policy   spi-<name> / spo-<name>     count-only: what a staged policy would do (never a verdict)
 *   failsafe        failsafe-in, failsafe-out, failsafe-in-raw, failsafe-out-raw
 *   sets            <set id>-4 / <set id>-6     selector sets' single addresses (s-…, hash) and
 *                                               named-port sets (n-…)
 *                   <set id>-4p / <set id>-6p   selector sets' wider prefixes (interval)
 *                   stamp                       the table writer's proof of the last commit
 */
import { shortHash } from '../platform/hash.ts';

export const TABLE = 'outpost';

export type Stage = 'fh' | 'th' | 'fhfw' | 'thfw' | 'rfh' | 'rth' | 'mfh';

// nft names are limited to 255 bytes; HEP and policy names can be 253 on their own. Names come
// from the plan (validated DNS-1123 names in practice); anything outside the safe alphabet, or
// too long, is shortened and suffixed with a hash of the whole name. `~` is never in a safe
// name, so a hashed name cannot collide with a kept one.
const MAX_NAME = 200;
const SAFE_NAME = /^[a-zA-Z0-9_.-]+$/;
function bounded(prefix: string, name: string): string {
  const full = `${prefix}-${name}`;
  if (SAFE_NAME.test(name) && full.length <= MAX_NAME) return full;
  return `${prefix}-${name.replace(/[^a-zA-Z0-9_.-]/g, '_').slice(0, 150)}~${shortHash(name, 16)}`;
}

export const endpointChain = (stage: Stage, hep: string): string => bounded(stage, hep);
export const dispatchChain = (stage: Stage): string => `d-${stage}`;
/** Policy keys are "<tier>/<name>"; GNP names are unique across tiers, so the name suffices. */
export const policyChain = (dir: 'in' | 'out', policyName: string): string => bounded(dir === 'in' ? 'pi' : 'po', policyName);
/** A staged policy's count-only chain (staged-chains.ts); its own prefix, so it never meets an enforced one. */
export const stagedChain = (dir: 'in' | 'out', policyName: string): string => bounded(dir === 'in' ? 'spi' : 'spo', policyName);
export const profileChain = (dir: 'in' | 'out', profileName: string): string => bounded(dir === 'in' ? 'pri' : 'pro', profileName);
/** Set ids are the relay's `s-<hash>` / `n-<hash>`; any other id is hashed the same way as names. */
export const setName = (id: string, family: 4 | 6): string =>
  SAFE_NAME.test(id) && id.length <= 100 ? `${id}-${family}` : `x-${id.replace(/[^a-zA-Z0-9_.-]/g, '_').slice(0, 100)}~${shortHash(id, 16)}-${family}`;

/** The interval part of a selector set (its wider prefixes); setName's is the hash part. */
export const prefixSetName = (id: string, family: 4 | 6): string => `${setName(id, family)}p`;

/** The longest prefix of `text` that fits in `max` UTF-8 bytes, never splitting a character. */
export function utf8Prefix(text: string, max: number): string {
  const enc = new TextEncoder();
  if (enc.encode(text).length <= max) return text;
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    const n = enc.encode(ch).length;
    if (bytes + n > max) break;
    bytes += n;
    out += ch;
  }
  return out;
}

/** nft rule comments are capped at 128 bytes (NFTNL_UDATA_COMMENT_MAXLEN, with its NUL); bytes, not characters. */
export const MAX_COMMENT_BYTES = 127;
export function comment(text: string): string {
  // Every UTF-16 unit is at most 3 UTF-8 bytes: most comments need no encoding to know they fit.
  return text.length * 3 <= MAX_COMMENT_BYTES || new TextEncoder().encode(text).length <= MAX_COMMENT_BYTES ? text : `${utf8Prefix(text, MAX_COMMENT_BYTES - 3)}...`;
}

/** nft log prefixes are capped at 128 bytes with their NUL (NF_LOG_PREFIXLEN). */
export const logPrefix = (text: string): string => utf8Prefix(text, 127);

/** Linux interface names: at most 15 bytes (IFNAMSIZ 16 with the NUL). */
const IFNAMSIZ = 16;

/**
 * The nft JSON string that matches exactly the interface named `name`, or why none can.
 *
 * nft gives two characters of an ifname string a meaning (tested with nft 1.0.6, bytecode via
 * `nft --debug=netlink`): a leading `@` makes the string a set reference (the whole transaction
 * then fails: "No such file or directory"), and a trailing `*` makes it a prefix wildcard
 * (`eth*` governs every eth… interface). `\*` at the end is a literal star (full 16-byte compare).
 * Everything else is taken byte for byte (quotes, `$`, backslashes elsewhere, UTF-8).
 * Not expressible, so refused: a leading `@` (JSON has no escape for it), a name ending in `\*`
 * (nft drops every backslash before the trailing star), and a 15-byte name ending in `*` (the
 * escape makes it 16 bytes, which nft refuses). The kernel allows all of these, so the
 * interface list from the host can contain them; a refused one is governed by no name rule.
 */
export function ifnameLiteral(name: string): { ok: true; value: string } | { ok: false; reason: string } {
  const bytes = new TextEncoder().encode(name).length;
  if (name === '' || bytes >= IFNAMSIZ) return { ok: false, reason: `interface name ${JSON.stringify(name)} is not 1 to ${IFNAMSIZ - 1} bytes` };
  if (name.includes('\0')) return { ok: false, reason: `interface name ${JSON.stringify(name)} contains NUL` };
  if (name.startsWith('@')) return { ok: false, reason: `interface name ${JSON.stringify(name)} starts with "@", which nft reads as a set reference` };
  if (!name.endsWith('*')) return { ok: true, value: name };
  if (name.endsWith('\\*')) return { ok: false, reason: `interface name ${JSON.stringify(name)} ends in a backslash and a star, which nft cannot match literally` };
  if (bytes + 1 >= IFNAMSIZ) return { ok: false, reason: `interface name ${JSON.stringify(name)} ends in "*" and is too long to escape for nft` };
  return { ok: true, value: `${name.slice(0, -1)}\\*` };
}
