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
 *   failsafe        failsafe-in, failsafe-out, failsafe-in-raw, failsafe-out-raw
 *   sets            <set id>-4 / <set id>-6     selector sets (s-…) and named-port sets (n-…)
 */
import { shortHash } from '../platform/hash.ts';

export const TABLE = 'outpost';

export type Stage = 'fh' | 'th' | 'fhfw' | 'thfw' | 'rfh' | 'rth' | 'mfh';

// nft names are limited to 255 bytes; HEP and policy names can be 253 on their own.
const MAX_NAME = 200;
function bounded(prefix: string, name: string): string {
  const full = `${prefix}-${name}`;
  return full.length <= MAX_NAME ? full : `${prefix}-${name.slice(0, 150)}~${shortHash(name, 16)}`;
}

export const endpointChain = (stage: Stage, hep: string): string => bounded(stage, hep);
export const dispatchChain = (stage: Stage): string => `d-${stage}`;
/** Policy keys are "<tier>/<name>"; GNP names are unique across tiers, so the name suffices. */
export const policyChain = (dir: 'in' | 'out', policyName: string): string => bounded(dir === 'in' ? 'pi' : 'po', policyName);
export const profileChain = (dir: 'in' | 'out', profileName: string): string => bounded(dir === 'in' ? 'pri' : 'pro', profileName);
export const setName = (id: string, family: 4 | 6): string => `${id}-${family}`;

/** nft rule comments are capped at 128 bytes. */
export function comment(text: string): string {
  return text.length <= 128 ? text : `${text.slice(0, 125)}...`;
}
