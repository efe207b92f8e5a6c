/**
 * What the agent's control path needs beyond TCP/UDP failsafes:
 * - the resolvers DNS goes to (resolv.conf, or the agent's `resolvers` setting);
 * - IPv6 neighbour discovery (router solicitation/advertisement, neighbour
 *   solicitation/advertisement: ICMPv6 types 133–136) both ways, which a deny-all HEP would
 *   otherwise drop (conntrack does not track ND, so "established" never covers it). Only with
 *   hop limit 255: RFC 4861 requires it, and such packets cannot have come from off-link.
 *   ICMPv6 errors about the broker connection (types 1–4) are RELATED in conntrack and already
 *   accepted by every endpoint chain.
 *
 * The ND rules are appended to the rendered failsafe chains here rather than carried in the
 * plan: they are this host's business, like the broker path, and never come from the relay.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { NftExpr } from '../nft/json-types.ts';
import { resultOf, type RenderResult } from '../render/ruleset.ts';
import { withAppendedRules, type TableRule } from '../render/table-model.ts';

/** Nameserver addresses in resolv.conf text (IPv6 zone ids dropped; anything else ignored). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const a = m?.[1]?.split('%')[0];
    if (a && isIP(a) !== 0 && !out.includes(a)) out.push(a);
  }
  return out;
}

/**
 * The resolvers the system uses: /etc/resolv.conf, and when that names systemd-resolved's stub
 * (127.0.0.53), the upstream servers resolved itself talks to.
 */
export function systemResolvers(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): string[] {
  const get = (p: string) => {
    try {
      return parseResolvConf(read(p));
    } catch {
      return [];
    }
  };
  const main = get('/etc/resolv.conf');
  const upstream = main.includes('127.0.0.53') ? get('/run/systemd/resolve/resolv.conf') : [];
  return [...new Set([...main, ...upstream])];
}

const FAILSAFE_CHAINS = ['failsafe-in', 'failsafe-out', 'failsafe-in-raw', 'failsafe-out-raw'] as const;

const ndRule: NftExpr[] = [
  { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 58 } },
  { match: { op: '==', left: { payload: { protocol: 'icmpv6', field: 'type' } }, right: { set: [133, 134, 135, 136] } } },
  { match: { op: '==', left: { payload: { protocol: 'ip6', field: 'hoplimit' } }, right: 255 } },
  { counter: null },
  { accept: null },
];

/** The ruleset with neighbour discovery accepted in every failsafe chain (read-back counts updated). */
export function withNeighbourDiscovery(r: RenderResult): RenderResult {
  const nd: TableRule[] = [{ expr: ndRule, comment: 'failsafe control path: IPv6 neighbour discovery' }];
  return resultOf(withAppendedRules(r.table, new Map(FAILSAFE_CHAINS.map((c) => [c, nd]))), r.unnameable);
}
