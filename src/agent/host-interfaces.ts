/**
 * The host's interfaces and their addresses, for choosing HEPs by expectedIPs. Read through
 * the runtime (getifaddrs), so no `ip` binary is needed on minimal appliances.
 */
import { networkInterfaces } from 'node:os';
import type { HostInterface } from '../calc/dispatch.ts';

export function readHostInterfaces(): HostInterface[] {
  const out: HostInterface[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    out.push({ name, addresses: (addrs ?? []).map((a) => a.address.split('%')[0] ?? a.address).sort() });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}
