/**
 * Each node's closure: the plan computed by the same code the agent runs in local mode, for
 * every node that has at least one HostEndpoint, from scratch. Pure. `outpost bundle` uses it;
 * the running relay keeps the same plans up to date incrementally (calc/plan-index.ts).
 */
import { computeNodePlan, preparePlanContext } from '../calc/node-plan.ts';
import type { Resource } from '../model/resource.ts';
import type { NodePlan } from '../plan/schema.ts';

export interface NodeClosure {
  readonly plan: NodePlan;
  readonly warnings: readonly string[];
}

export function nodesWithEndpoints(resources: readonly Resource[]): string[] {
  const nodes = new Set<string>();
  for (const r of resources) if (r.kind === 'HostEndpoint' && r.spec.node) nodes.add(r.spec.node);
  return [...nodes].sort();
}

/**
 * Every node's closure. A node whose plan cannot be computed (a bug, or input no limit caught)
 * is left out and, when `failed` is given, recorded there with the reason: one node never
 * stops the others.
 */
export function computeClosures(resources: readonly Resource[], failed?: Map<string, string>): Map<string, NodeClosure> {
  const out = new Map<string, NodeClosure>();
  const shared = preparePlanContext(resources);
  for (const node of nodesWithEndpoints(resources)) {
    try {
      const { plan, warnings } = computeNodePlan({ node, resources }, shared);
      out.set(node, { plan, warnings });
    } catch (e) {
      if (!failed) throw e;
      failed.set(node, e instanceof Error ? e.message : String(e));
    }
  }
  return out;
}

/** What changed between two publications: nodes to (re)publish and nodes that lost every HEP. */
export function diffNodes(published: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): { changed: string[]; removed: string[] } {
  const changed = [...next].filter(([n, h]) => published.get(n) !== h).map(([n]) => n).sort();
  const removed = [...published.keys()].filter((n) => !next.has(n)).sort();
  return { changed, removed };
}
