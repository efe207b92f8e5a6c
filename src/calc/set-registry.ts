/**
 * Registers the IP sets and named-port sets that a node's rules refer to, and resolves their
 * members from the membership index.
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

/**
 * Where a registry gets set contents from. The memo over a member list is the from-scratch
 * reference; the relay's set index (set-index.ts) keeps the same contents up to date across
 * datastore changes. Both must return exactly what memoSetSource computes.
 */
export interface SetSource {
  /** The set of addresses the selector matches. */
  ipSet(sel: Selector): IpSetPlan;
  /** `names` sorted and unique; every member when `sel` is undefined. */
  portSet(sel: Selector | undefined, names: readonly string[], protocol: number | undefined): PortSetPlan;
}

export const ipSetMemoKey = (sel: Selector): string => `ip|${sel.id}`;
export const portSetKey = (sel: Selector | undefined, names: readonly string[], protocol: number | undefined): string =>
  `${sel?.id ?? 'all'}|${names.join(',')}|${protocol ?? 'any'}`;

/** The ip set plan for these members (any order: the output is sorted). */
export function buildIpSet(sel: Selector, members: Iterable<Member>): IpSetPlan {
  const { v4, v6 } = selectCidrs(members, (l) => sel.evaluate(l));
  return { id: `s-${shortHash(sel.id, 20)}`, selector: sel.canonical, v4, v6 };
}

/** The named-port set plan for these members (any order: the output is sorted). */
export function buildPortSet(sel: Selector | undefined, names: readonly string[], protocol: number | undefined, members: Iterable<Member>): PortSetPlan {
  const v4 = new Map<string, [string, number, number]>();
  const v6 = new Map<string, [string, number, number]>();
  for (const m of members) {
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
  return { id: `n-${shortHash(portSetKey(sel, names, protocol), 20)}`, selector: sel?.canonical ?? 'all()', ports: [...names], v4: sorted(v4), v6: sorted(v6) };
}

/** Contents computed from a member list on first use and memoised (one computation, every node). */
export function memoSetSource(members: readonly Member[], memo: SetMemo = new Map()): SetSource {
  return {
    ipSet(sel) {
      const key = ipSetMemoKey(sel);
      let set = memo.get(key) as IpSetPlan | undefined;
      if (!set) memo.set(key, (set = buildIpSet(sel, members)));
      return set;
    },
    portSet(sel, names, protocol) {
      const key = `port|${portSetKey(sel, names, protocol)}`;
      let set = memo.get(key) as PortSetPlan | undefined;
      if (!set) memo.set(key, (set = buildPortSet(sel, names, protocol, members)));
      return set;
    },
  };
}

export class SetRegistry {
  private readonly ipSetsById = new Map<string, IpSetPlan>();
  private readonly portSetsById = new Map<string, PortSetPlan>();
  private readonly source: SetSource;

  constructor(members: readonly Member[] | SetSource, memo: SetMemo = new Map()) {
    this.source = Array.isArray(members) ? memoSetSource(members as readonly Member[], memo) : (members as SetSource);
  }

  /** The set of addresses the selector matches; returns its id. */
  ipSet(sel: Selector): string {
    const set = this.source.ipSet(sel);
    this.ipSetsById.set(set.id, set);
    return set.id;
  }

  /**
   * The (ip, protocol, port) members for any of the named ports on every member the selector matches
   * (every member when there is no selector), limited to `protocol` when the rule has one.
   */
  portSet(sel: Selector | undefined, portNames: readonly string[], protocol: number | undefined): string {
    const set = this.source.portSet(sel, [...new Set(portNames)].sort(), protocol);
    this.portSetsById.set(set.id, set);
    return set.id;
  }

  ipSets(): IpSetPlan[] {
    return [...this.ipSetsById.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  portSets(): PortSetPlan[] {
    return [...this.portSetsById.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}
