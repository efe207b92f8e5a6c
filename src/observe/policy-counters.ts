/**
 * Per-policy packet counters for /metrics (setting metricsPolicyCounters), read from nft at each
 * scrape: for every policy and profile of the plan in force, the packets its endpoint chains
 * sent to it (counted jumps, src/nft/counters.ts), summed over endpoints, per direction.
 *
 * The plan says which chain is which policy (chain names can be shortened or hashed, so they
 * are not read back as names): the reader learns it from the agent's `rendered` and `applied` events. The
 * table is listed with -t (terse: no set elements), so a scrape stays cheap with large sets.
 */
import { listCounters } from '../nft/counter-listing.ts';
import type { AgentObserver } from '../agent/observations.ts';
import type { NodePlan } from '../plan/schema.ts';
import { chainCounters, jumpsOf } from '../nft/counters.ts';
import { policyChain, profileChain } from '../render/naming.ts';
import type { PolicyPackets } from './agent-metrics.ts';

type Direction = 'inbound' | 'outbound';

/** chain name → the policy (or profile) key and direction it evaluates, for one plan. */
export function policyChains(plan: Pick<NodePlan, 'policies' | 'profiles'>): Map<string, { readonly policy: string; readonly direction: Direction }> {
  const out = new Map<string, { policy: string; direction: Direction }>();
  for (const p of plan.policies) {
    out.set(policyChain('in', p.name), { policy: p.key, direction: 'inbound' });
    out.set(policyChain('out', p.name), { policy: p.key, direction: 'outbound' });
  }
  for (const p of plan.profiles) {
    out.set(profileChain('in', p.name), { policy: p.key, direction: 'inbound' });
    out.set(profileChain('out', p.name), { policy: p.key, direction: 'outbound' });
  }
  return out;
}

/** The packets sent to each known policy chain in a listing (`nft -j list table`, parsed). */
export function policyPackets(listing: unknown, chains: ReadonlyMap<string, { readonly policy: string; readonly direction: Direction }>): PolicyPackets[] {
  const sums = new Map<string, { policy: string; direction: Direction; packets: number }>();
  // Every policy of the plan is listed, with 0 when nothing reached it: an absent series and
  // an idle policy read differently on a dashboard.
  for (const c of chains.values()) sums.set(`${c.direction}\0${c.policy}`, { ...c, packets: 0 });
  for (const rules of chainCounters(listing).values()) {
    for (const [target, traffic] of jumpsOf(rules)) {
      const c = chains.get(target);
      if (!c) continue;
      sums.get(`${c.direction}\0${c.policy}`)!.packets += traffic.evaluated.packets;
    }
  }
  return [...sums.values()];
}

/** Reads the counters with `nft` for the plan last enforced; an observer keeps the plan current. */
export function policyPacketReader(nft: string, timeoutMs = 10_000): { readonly observer: AgentObserver; read(): Promise<readonly PolicyPackets[]> } {
  type Chains = Map<string, { readonly policy: string; readonly direction: Direction }>;
  let chains: Chains = new Map();
  let pending: Chains | undefined;
  let inFlight: Promise<readonly PolicyPackets[]> | undefined;
  return {
    observer: {
      // Rendered, then applied: the chains change only when the apply went through.
      rendered(e) {
        pending = policyChains(e.plan);
      },
      applied(e) {
        if (e.ok && pending) chains = pending;
        pending = undefined;
      },
    },
    read() {
      if (chains.size === 0) return Promise.resolve([]);
      // Scrapes that arrive together share one listing: the endpoint has no authentication, and a
      // burst of requests must not start an nft process each on the host being enforced.
      inFlight ??= readOnce().finally(() => (inFlight = undefined));
      return inFlight;
    },
  };

  async function readOnce(): Promise<readonly PolicyPackets[]> {
    const r = await listCounters(nft, timeoutMs);
    if (r.state === 'missing') throw new Error('nft could not list the table: there is no outpost table');
    if (r.state === 'unknown') throw new Error(r.reason);
    return policyPackets(r.listing, chains);
  }
}
