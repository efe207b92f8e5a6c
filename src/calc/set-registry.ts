/**
 * Registers the IP sets and named-port sets that a node's rules refer to, and resolves their
 * members from the membership index (calico-semantics §6.2, §6.3).
 *
 * Set identity follows Felix: one set per distinct selector (so identical selectors share a
 * set), and one named-port set per (selector, port name, protocol). Members are computed once
 * per registration, and the output is sorted so the same datastore gives the same plan bytes.
 */
import type { IpSetPlan, PortSetPlan } from '../plan/schema.ts';
import type { Selector } from '../selector/index.ts';
import { shortHash } from '../platform/hash.ts';
import { formatIp } from '../net/cidr.ts';
import { selectCidrs, type Member } from './members.ts';

/** Set contents by selector key, shared across the nodes of one computation (the relay computes every node). */
export type SetMemo = Map<string, IpSetPlan | PortSetPlan>;

export class SetRegistry {
  private readonly ipSetsById = new Map<string, IpSetPlan>();
  private readonly portSetsById = new Map<string, PortSetPlan>();

  constructor(
    private readonly members: readonly Member[],
    private readonly memo: SetMemo = new Map(),
  ) {}

  /** The set of addresses the selector matches; returns its id. */
  ipSet(sel: Selector): string {
    const memoKey = `ip|${sel.id}`;
    let set = this.memo.get(memoKey) as IpSetPlan | undefined;
    if (!set) {
      const id = `s-${shortHash(sel.id, 20)}`;
      const { v4, v6 } = selectCidrs(this.members, (l) => sel.evaluate(l));
      set = { id, selector: sel.canonical, v4, v6 };
      this.memo.set(memoKey, set);
    }
    this.ipSetsById.set(set.id, set);
    return set.id;
  }

  /**
   * The (ip, protocol, port) members for any of the named ports on every member the selector matches
   * (every member when there is no selector), limited to `protocol` when the rule has one.
   */
  portSet(sel: Selector | undefined, portNames: readonly string[], protocol: number | undefined): string {
    const selText = sel?.canonical ?? 'all()';
    const names = [...new Set(portNames)].sort();
    const key = `${sel?.id ?? 'all'}|${names.join(',')}|${protocol ?? 'any'}`;
    const memoized = this.memo.get(`port|${key}`) as PortSetPlan | undefined;
    if (memoized) {
      this.portSetsById.set(memoized.id, memoized);
      return memoized.id;
    }
    const id = `n-${shortHash(key, 20)}`;
    const v4 = new Map<string, [string, number, number]>();
    const v6 = new Map<string, [string, number, number]>();
    for (const m of this.members) {
      if (sel && !sel.evaluate(m.labels)) continue;
      for (const p of m.ports) {
        if (!names.includes(p.name) || (protocol !== undefined && p.protocol !== protocol)) continue;
        for (const c of m.cidrs) {
          const ip = formatIp(c.family, c.addr);
          const entry: [string, number, number] = [ip, p.protocol, p.port];
          (c.family === 4 ? v4 : v6).set(entry.join(' '), entry);
        }
      }
    }
    const sorted = (m: Map<string, [string, number, number]>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
    const set: PortSetPlan = { id, selector: selText, ports: names, v4: sorted(v4), v6: sorted(v6) };
    this.memo.set(`port|${key}`, set);
    this.portSetsById.set(id, set);
    return id;
  }

  ipSets(): IpSetPlan[] {
    return [...this.ipSetsById.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  portSets(): PortSetPlan[] {
    return [...this.portSetsById.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}
