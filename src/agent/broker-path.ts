/**
 * The agent's own path to its broker, as outbound failsafe rules: whatever policy says, the
 * agent can always reach the broker that would deliver the fix. Replies come back through
 * conntrack, and through the raw reply rules for untracked policy.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { FailsafePlanRule } from '../plan/schema.ts';
import { parseIp, formatCidr } from '../net/cidr.ts';

const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };

export async function brokerFailsafes(url: string): Promise<{ rules: FailsafePlanRule[]; error?: string }> {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : (DEFAULT_PORTS[u.protocol] ?? 1883);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  let addrs: string[];
  if (isIP(host)) addrs = [host];
  else {
    try {
      addrs = (await lookup(host, { all: true })).map((a) => a.address);
    } catch (e) {
      // Offline at boot: the cached ruleset still applies; the path is added once the name resolves.
      return { rules: [], error: `cannot resolve broker host ${host}: ${(e as Error).message}` };
    }
  }
  const nets = new Set<string>();
  for (const a of addrs) {
    const ip = parseIp(a);
    if (ip) nets.add(formatCidr({ family: ip.family, addr: ip.addr, len: ip.family === 4 ? 32 : 128 }));
  }
  const rules = [...nets].sort().map((net) => ({ protocol: 'tcp' as const, port, net }));
  return { rules };
}
