/**
 * The relay's side of the plans: the index over the datastore, which nodes exist, which must be
 * computed again (the nodes a change reaches, and those whose plan failed or whose snapshot was
 * refused last time), and which warnings were already logged. One node's failure is logged with
 * its name and never stops the others.
 */
import type { DatastoreState } from '../datastore/source.ts';
import type { Logger } from '../platform/logger.ts';
import type { NodePlan } from '../plan/schema.ts';
import { PlanIndex } from '../calc/plan-index.ts';
import { deepEqual } from '../calc/deep-equal.ts';
import type { NodePlanResult } from '../calc/node-plan.ts';

export class NodePlans {
  private readonly index = new PlanIndex();
  /** The state the index holds. */
  private indexed: DatastoreState | undefined;
  /** Nodes with a HEP, including those whose plan failed: never cleared. */
  known: ReadonlySet<string> = new Set();
  private readonly retry = new Set<string>();
  private readonly lastWarnings = new Map<string, string>();

  constructor(private readonly log: Logger) {}

  get ready(): boolean {
    return this.indexed !== undefined;
  }

  /** Any node's plan at the indexed state (a node without HEPs: failsafes and settings only). */
  plan(node: string): NodePlanResult {
    return this.index.plan(node);
  }

  /** Computed again on the next run (its snapshot was refused). */
  retryLater(node: string): void {
    this.retry.add(node);
  }

  /** The plans of the nodes `state` reaches, plus the retries; failures logged and kept for a retry. */
  compute(state: DatastoreState): Map<string, NodePlan> {
    let dirty: ReadonlySet<string> = new Set();
    if (state !== this.indexed) {
      const u = this.index.update(state.resources);
      this.indexed = state;
      this.known = u.nodes;
      dirty = u.dirty;
      for (const node of this.lastWarnings.keys()) if (!u.nodes.has(node)) this.lastWarnings.delete(node);
    }
    const todo = new Set(dirty);
    for (const n of this.retry) if (this.known.has(n)) todo.add(n);
    this.retry.clear();
    const fresh = new Map<string, NodePlan>();
    for (const node of [...todo].sort()) {
      let r: NodePlanResult;
      try {
        r = this.index.plan(node);
      } catch (e) {
        this.log.error({ node, revision: state.revision, err: e instanceof Error ? e.message : String(e) }, 'cannot compute this node\'s plan; it keeps the snapshot it has');
        this.retry.add(node);
        continue;
      }
      fresh.set(node, r.plan);
      const w = r.warnings.join('\n');
      if (w && this.lastWarnings.get(node) !== w) r.warnings.forEach((m) => this.log.warn({ node }, m));
      this.lastWarnings.set(node, w);
    }
    return fresh;
  }

  /** Nodes to publish: those whose plan changed (structurally), or every node with a plan when `all`. */
  changed(fresh: ReadonlyMap<string, NodePlan>, published: ReadonlyMap<string, { readonly plan: NodePlan }>, all: boolean): string[] {
    const out: string[] = [];
    if (all) {
      for (const node of [...this.known].sort()) if (fresh.has(node) || published.has(node)) out.push(node);
      return out;
    }
    for (const [node, plan] of fresh) {
      const p = published.get(node);
      if (!p || !deepEqual(p.plan, plan)) out.push(node);
    }
    return out;
  }
}
