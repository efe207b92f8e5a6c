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

export interface InterfaceWatch {
  readonly current: readonly HostInterface[];
  stop(): void;
}

/**
 * Interfaces come and go (hotplug, DHCP): polls every second and calls `onChange` when the set
 * of interfaces or addresses differs from the last one seen (the first poll compares against
 * the state at start, so a change right after start is not missed).
 */
export function watchInterfaces(onChange: (now: readonly HostInterface[]) => void, intervalMs = 1000): InterfaceWatch {
  let current = readHostInterfaces();
  let sig = JSON.stringify(current);
  const timer = setInterval(() => {
    const next = readHostInterfaces();
    const s = JSON.stringify(next);
    if (s === sig) return;
    sig = s;
    current = next;
    onChange(next);
  }, intervalMs);
  return {
    get current() {
      return current;
    },
    stop: () => clearInterval(timer),
  };
}
