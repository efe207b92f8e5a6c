/**
 * What a change to the resources would change in each node's plan: policies, profiles and staged
 * policies added, removed or changed (down to the rule), host endpoints, tier order, set members added and
 * removed, failsafes and dataplane switches. Pure: two plans in, a list of changes out.
 */
import { deepEqual } from '../calc/deep-equal.ts';
import type { NodePlan, PlanPolicy, PlanRule } from '../plan/schema.ts';

export interface SetChange {
  readonly id: string;
  readonly selector: string;
  readonly added: string[];
  readonly removed: string[];
}

export interface NodeDiff {
  readonly node: string;
  /** One line per policy/profile/endpoint/setting change, in a stable order. */
  readonly changes: string[];
  readonly sets: SetChange[];
}

function ruleChanges(dir: 'ingress' | 'egress', a: readonly PlanRule[], b: readonly PlanRule[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x && !y) out.push(`${dir} rule ${i} removed`);
    else if (!x && y) out.push(`${dir} rule ${i} added (${y.action})`);
    else if (!deepEqual(x, y)) out.push(`${dir} rule ${i} changed${x!.action !== y!.action ? ` (${x!.action} -> ${y!.action})` : ''}`);
  }
  return out;
}

function policyChanges(what: string, before: readonly PlanPolicy[], after: readonly PlanPolicy[]): string[] {
  const a = new Map(before.map((p) => [p.key, p]));
  const b = new Map(after.map((p) => [p.key, p]));
  const out: string[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(key);
    const y = b.get(key);
    if (x && !y) out.push(`${what} ${key}: removed`);
    else if (!x && y) out.push(`${what} ${key}: added (${y.ingress.length} ingress, ${y.egress.length} egress rules)`);
    else if (!deepEqual(x, y)) {
      const rules = [...ruleChanges('ingress', x!.ingress, y!.ingress), ...ruleChanges('egress', x!.egress, y!.egress)];
      out.push(`${what} ${key}: changed${rules.length ? ` (${rules.join('; ')})` : ''}`);
    }
  }
  return out;
}

function endpointChanges(before: NodePlan, after: NodePlan): string[] {
  const a = new Map(before.endpoints.map((e) => [e.name, e]));
  const b = new Map(after.endpoints.map((e) => [e.name, e]));
  const out: string[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(name);
    const y = b.get(name);
    if (x && !y) out.push(`host endpoint ${name}: removed (its interface is no longer governed)`);
    else if (!x && y) out.push(`host endpoint ${name}: added (interface ${y.interfaceName || `by expectedIPs ${y.expectedIPs.join(', ')}`})`);
    else if (!deepEqual(x, y)) {
      const parts: string[] = [];
      if (x!.interfaceName !== y!.interfaceName || !deepEqual(x!.expectedIPs, y!.expectedIPs)) parts.push('interface or expectedIPs');
      if (!deepEqual(x!.ingress, y!.ingress) || !deepEqual(x!.egress, y!.egress)) parts.push('which policies apply, or their order');
      if (!deepEqual(x!.profiles, y!.profiles)) parts.push(`profiles ${x!.profiles.join(',') || '(none)'} -> ${y!.profiles.join(',') || '(none)'}`);
      if (!deepEqual(x!.staged, y!.staged)) parts.push('which staged policies measure it');
      out.push(`host endpoint ${name}: changed (${parts.join('; ')})`);
    }
  }
  return out;
}

type Members = Map<string, { selector: string; members: Set<string> }>;

function setMembers(plan: NodePlan): Members {
  const m: Members = new Map();
  for (const s of plan.ipSets) m.set(s.id, { selector: s.selector, members: new Set([...s.v4, ...s.v6]) });
  for (const s of plan.portSets) m.set(s.id, { selector: s.selector, members: new Set([...s.v4, ...s.v6].map(([ip, proto, port]) => `${ip} ${proto}/${port}`)) });
  return m;
}

function setChanges(before: NodePlan, after: NodePlan): SetChange[] {
  const a = setMembers(before);
  const b = setMembers(after);
  const out: SetChange[] = [];
  for (const id of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(id)?.members ?? new Set<string>();
    const y = b.get(id)?.members ?? new Set<string>();
    const added = [...y].filter((m) => !x.has(m)).sort();
    const removed = [...x].filter((m) => !y.has(m)).sort();
    if (added.length || removed.length) out.push({ id, selector: (b.get(id) ?? a.get(id))!.selector, added, removed });
  }
  return out;
}

/** The differences between two plans of one node (either may be absent: the node appears or goes). */
export function diffPlans(node: string, before: NodePlan | undefined, after: NodePlan | undefined): NodeDiff | undefined {
  const empty: NodePlan = { node, endpoints: [], policies: [], profiles: [], ipSets: [], portSets: [], failsafes: { inbound: [], outbound: [] } };
  const a = before ?? empty;
  const b = after ?? empty;
  if (deepEqual(a, b)) return undefined;
  const changes = [
    ...(!before ? ['node appears: a host endpoint now names it'] : []),
    ...(!after ? ['node goes: no host endpoint names it any more (its agent would enforce nothing)'] : []),
    ...endpointChanges(a, b),
    ...policyChanges('policy', a.policies, b.policies),
    ...policyChanges('profile', a.profiles, b.profiles),
    ...policyChanges('staged policy', a.staged ?? [], b.staged ?? []),
  ];
  if (!deepEqual(a.failsafes, b.failsafes)) changes.push('failsafe ports changed');
  if (a.ipv6Support !== b.ipv6Support) changes.push(`ipv6Support ${a.ipv6Support ?? true} -> ${b.ipv6Support ?? true}`);
  if (a.disableConntrackInvalidCheck !== b.disableConntrackInvalidCheck) changes.push(`disableConntrackInvalidCheck ${a.disableConntrackInvalidCheck ?? false} -> ${b.disableConntrackInvalidCheck ?? false}`);
  const sets = setChanges(a, b);
  if (!changes.length && !sets.length) changes.push('set layout changed (same members, different sets)');
  return { node, changes, sets };
}
