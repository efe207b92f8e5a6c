/**
 * What each agent reports enforcing (the hash in its retained status), and which nodes that
 * makes stale. A node with no HEP whose agent reports another hash than the "no endpoints"
 * plan's was offline when its last HEP went, and the broker has since lost the queued
 * tombstone: the relay sends it the signed "no endpoints" snapshot again, so it converges.
 * Only the hash is kept: the rest of the status is for `outpost fleet`, not for the relay.
 */
import { contentHash } from '../protocol/snapshot.ts';
import { decodeStatus } from '../protocol/status.ts';
import type { NodePlans } from './node-plans.ts';

export class AgentStatuses {
  private readonly hashes = new Map<string, string>();

  /** A status message on `node`'s topic; true when it named the hash the agent enforces (kept). */
  note(node: string, payload: Uint8Array): boolean {
    const st = decodeStatus(payload);
    if (!st.ok || st.status.node !== node || st.status.hash === undefined) return false;
    this.hashes.set(node, st.status.hash);
    return true;
  }

  /** Nodes whose agent reported a hash. */
  nodes(): Iterable<string> {
    return this.hashes.keys();
  }

  /** A node without HEPs whose agent reports enforcing something else: it missed its tombstone. */
  staleWithoutHep(node: string, plans: NodePlans, published: ReadonlyMap<string, unknown>): boolean {
    const hash = this.hashes.get(node);
    if (!plans.ready || hash === undefined || published.has(node) || plans.known.has(node)) return false;
    try {
      // No HEP: the plan is failsafes and settings only, a few lines from the index.
      return hash !== contentHash(plans.plan(node).plan);
    } catch {
      return false;
    }
  }
}
