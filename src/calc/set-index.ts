/**
 * Set contents kept up to date across datastore changes (the relay's side of Felix's label
 * index): every ip set and named-port set some node's plan uses, with the members it matches and
 * the nodes that use it. A member change is evaluated against each set in use (never against
 * nodes), and only the sets whose contents really changed name nodes to recompute.
 *
 * Contents are built by the same functions as the from-scratch memo (set-registry.ts), so a
 * set here is exactly what memoSetSource computes for the same members. A plan object is never
 * changed in place: a changed set gets a new object, so plans already built stay as they were.
 */
import type { IpSetPlan, PortSetPlan } from '../plan/schema.ts';
import type { Selector } from '../selector/index.ts';
import type { Member } from './members.ts';
import { buildIpSet, buildPortSet, ipSetMemoKey, portSetKey, type SetSource } from './set-registry.ts';
import { deepEqual } from './deep-equal.ts';

interface Entry {
  readonly sel: Selector | undefined;
  /** undefined for an ip set. */
  readonly port: { readonly names: readonly string[]; readonly protocol: number | undefined } | undefined;
  readonly matched: Set<string>;
  plan: IpSetPlan | PortSetPlan;
  readonly users: Set<string>;
}

export interface MemberChange {
  readonly key: string;
  /** The member after the change; undefined when it is gone. */
  readonly member: Member | undefined;
}

/** Past this many (change × set) evaluations a batch drops every set and recomputes its users instead. */
const RESET_WORK = 20_000_000;

export class SetIndex implements SetSource {
  private readonly members = new Map<string, Member>();
  private readonly entries = new Map<string, Entry>();
  private readonly usedBy = new Map<string, Set<string>>();
  private current: string | undefined;

  /** Sets in use (tests, benchmarks). */
  get size(): number {
    return this.entries.size;
  }

  /** The plan about to be computed is `node`'s: every set it asks for is recorded as used by it. */
  beginNode(node: string): void {
    this.release(node);
    this.current = node;
    this.usedBy.set(node, new Set());
  }

  endNode(): void {
    this.current = undefined;
  }

  /** `node` uses no set any more (it was recomputed, or it is gone); unused sets are dropped. */
  release(node: string): void {
    const keys = this.usedBy.get(node);
    if (!keys) return;
    this.usedBy.delete(node);
    for (const k of keys) {
      const e = this.entries.get(k);
      if (!e) continue;
      e.users.delete(node);
      if (e.users.size === 0) this.entries.delete(k);
    }
  }

  ipSet(sel: Selector): IpSetPlan {
    return this.use(ipSetMemoKey(sel), sel, undefined).plan as IpSetPlan;
  }

  portSet(sel: Selector | undefined, names: readonly string[], protocol: number | undefined): PortSetPlan {
    return this.use(`port|${portSetKey(sel, names, protocol)}`, sel, { names, protocol }).plan as PortSetPlan;
  }

  /**
   * Applies member changes; returns the nodes whose sets changed. A member that changed in a way
   * no set sees (labels no selector reads, a set nobody uses) names no node.
   */
  applyMemberChanges(changes: readonly MemberChange[]): Set<string> {
    const nodes = new Set<string>();
    if (changes.length * this.entries.size > RESET_WORK) {
      for (const c of changes) this.put(c);
      for (const e of this.entries.values()) for (const u of e.users) nodes.add(u);
      this.entries.clear();
      this.usedBy.clear();
      return nodes;
    }
    const touched = new Set<Entry>();
    for (const c of changes) {
      this.put(c);
      for (const e of this.entries.values()) {
        const was = e.matched.has(c.key);
        const now = c.member !== undefined && (e.sel === undefined || e.sel.evaluate(c.member.labels));
        if (now) e.matched.add(c.key);
        else if (was) e.matched.delete(c.key);
        if (was || now) touched.add(e);
      }
    }
    for (const e of touched) {
      const next = this.build(e.sel, e.port, e.matched);
      if (deepEqual(next, e.plan)) continue;
      e.plan = next;
      for (const u of e.users) nodes.add(u);
    }
    return nodes;
  }

  private put(c: MemberChange): void {
    if (c.member) this.members.set(c.key, c.member);
    else this.members.delete(c.key);
  }

  private use(key: string, sel: Selector | undefined, port: Entry['port']): Entry {
    let e = this.entries.get(key);
    if (!e) {
      const matched = new Set<string>();
      for (const [k, m] of this.members) if (sel === undefined || sel.evaluate(m.labels)) matched.add(k);
      e = { sel, port, matched, plan: this.build(sel, port, matched), users: new Set() };
      this.entries.set(key, e);
    }
    if (this.current !== undefined) {
      e.users.add(this.current);
      this.usedBy.get(this.current)?.add(key);
    }
    return e;
  }

  private build(sel: Selector | undefined, port: Entry['port'], matched: ReadonlySet<string>): IpSetPlan | PortSetPlan {
    const members: Member[] = [];
    for (const k of matched) members.push(this.members.get(k)!);
    return port ? buildPortSet(sel, port.names, port.protocol, members) : buildIpSet(sel!, members);
  }
}
