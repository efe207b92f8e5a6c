/**
 * The agent's own path to its broker, as outbound failsafe rules: whatever policy says, the
 * agent can always reach the broker that would deliver the fix. Replies come back through
 * conntrack, and through the raw reply rules for untracked policy.
 *
 * - Broker given by address: TCP to that address and port.
 * - Broker given by host name: TCP to every address it resolves to, plus DNS (udp and tcp 53)
 *   to the configured resolvers, so a deny-all ruleset never stops the name from resolving.
 *   The last resolved addresses are kept in the state dir and allowed from boot, before any
 *   lookup; the name is resolved again before every reconnect attempt.
 * - Any IPv6 on the path: the neighbour discovery it needs (control-path.ts).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { FailsafePlanRule } from '../plan/schema.ts';
import { parseIp, formatCidr } from '../net/cidr.ts';

const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };

export interface BrokerTarget {
  readonly host: string;
  readonly port: number;
  /** True when `host` is a name (DNS is then on the path), false for an address literal. */
  readonly isName: boolean;
}

export function brokerTarget(url: string): BrokerTarget {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { host, port: u.port ? Number(u.port) : (DEFAULT_PORTS[u.protocol] ?? 1883), isName: isIP(host) === 0 };
}

/** The broker's addresses, sorted and de-duplicated; an Error when the name does not resolve in time. */
export async function resolveBroker(t: BrokerTarget, timeoutMs = 5_000): Promise<string[] | Error> {
  if (!t.isName) return [t.host];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)));
    const found = await Promise.race([lookup(t.host, { all: true }), late]);
    const addrs = [...new Set(found.map((a) => a.address.split('%')[0] ?? a.address))].filter((a) => isIP(a) !== 0).sort();
    return addrs.length ? addrs : new Error('no addresses');
  } catch (e) {
    return new Error(`cannot resolve broker host ${t.host}: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

const hostNet = (a: string): string | undefined => {
  const ip = parseIp(a);
  return ip ? formatCidr({ family: ip.family, addr: ip.addr, len: ip.family === 4 ? 32 : 128 }) : undefined;
};

/** TCP to each broker address, and DNS to each resolver when the broker is a name. */
export function brokerPathRules(t: BrokerTarget, addresses: readonly string[], resolvers: readonly string[]): FailsafePlanRule[] {
  const rules = new Map<string, FailsafePlanRule>();
  const add = (r: FailsafePlanRule) => rules.set(`${r.protocol}/${r.port}/${r.net}`, r);
  for (const a of addresses) {
    const net = hostNet(a);
    if (net) add({ protocol: 'tcp', port: t.port, net });
  }
  if (t.isName) {
    for (const a of resolvers) {
      const net = hostNet(a);
      if (net) for (const protocol of ['udp', 'tcp'] as const) add({ protocol, port: 53, net });
    }
  }
  return [...rules.values()].sort((a, b) => (`${a.net}/${a.protocol}` < `${b.net}/${b.protocol}` ? -1 : 1));
}

/** Does the path use IPv6 (so it needs neighbour discovery)? Unknown addresses count as maybe. */
export function pathNeedsNeighbourDiscovery(t: BrokerTarget, addresses: readonly string[], resolvers: readonly string[]): boolean {
  const all = [...addresses, ...(t.isName ? resolvers : [])];
  if (t.isName && addresses.length === 0) return true;
  return all.some((a) => isIP(a) === 6);
}
