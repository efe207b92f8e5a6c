/**
 * Which host endpoint governs each interface. Runs on the agent, since
 * it needs the host's live interfaces and addresses.
 *
 * - A HEP with interfaceName governs that exact interface (whether or not it exists yet).
 * - A HEP without one governs every interface that holds one of its expectedIPs.
 * - Several candidates for one interface: the alphabetically first HEP name wins.
 * - The alphabetically first "*" HEP is the fallback for every other interface.
 */
import { parseIp } from '../net/cidr.ts';
import type { EndpointPlan } from '../plan/schema.ts';

export interface HostInterface {
  readonly name: string;
  readonly addresses: readonly string[];
}

export interface Dispatch {
  /** [interface, endpoint name], sorted by interface name. */
  readonly byInterface: readonly (readonly [string, string])[];
  readonly wildcard: string | undefined;
}

const ipKey = (s: string): string | null => {
  const p = parseIp(s.split('/')[0] ?? '');
  return p ? `${p.family}:${p.addr}` : null;
};

export function resolveDispatch(endpoints: readonly EndpointPlan[], interfaces: readonly HostInterface[]): Dispatch {
  const candidates = new Map<string, string[]>();
  const add = (iface: string, ep: string) => {
    const list = candidates.get(iface);
    if (list) list.push(ep);
    else candidates.set(iface, [ep]);
  };
  const ifaceByIp = new Map<string, string[]>();
  for (const i of interfaces) {
    for (const a of i.addresses) {
      const k = ipKey(a);
      if (k) ifaceByIp.set(k, [...(ifaceByIp.get(k) ?? []), i.name]);
    }
  }
  let wildcard: string | undefined;
  for (const ep of endpoints) {
    if (ep.interfaceName === '*') {
      if (wildcard === undefined || ep.name < wildcard) wildcard = ep.name;
    } else if (ep.interfaceName !== '') {
      add(ep.interfaceName, ep.name);
    } else {
      const ifaces = new Set<string>();
      for (const ip of ep.expectedIPs) for (const i of ifaceByIp.get(ipKey(ip) ?? '') ?? []) ifaces.add(i);
      for (const i of ifaces) add(i, ep.name);
    }
  }
  const byInterface = [...candidates.entries()]
    .map(([iface, eps]) => [iface, [...eps].sort()[0] as string] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { byInterface, wildcard };
}
