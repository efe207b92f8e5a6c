/**
 * What the status file says about the plan in force: each HEP, the interfaces it governs, and
 * per stage the tiers and policies in evaluation order with the nft chain names that hold their
 * counters (the same names the renderer gives them, render/naming.ts).
 */
import type { Dispatch } from '../calc/dispatch.ts';
import type { NodePlan } from '../plan/schema.ts';
import { specFor, stageApplies } from '../render/endpoint-chains.ts';
import { endpointChain, policyChain, profileChain, type Stage } from '../render/naming.ts';
import { MAX_FILE_ENDPOINTS, MAX_FILE_POLICIES, type EndpointStatus, type StageRef } from '../protocol/local-status.ts';
import { interfacesByEndpoint } from './status-extras.ts';

/** The order a packet meets them: raw (untracked), mangle (pre-DNAT), filter input/output, forward. */
const STAGE_ORDER: readonly Stage[] = ['rfh', 'mfh', 'fh', 'fhfw', 'rth', 'th', 'thfw'];
const INGRESS = new Set<Stage>(['rfh', 'mfh', 'fh', 'fhfw']);

const nameOfKey = (key: string): string => key.slice(key.indexOf('/') + 1);

export function endpointStatuses(plan: Pick<NodePlan, 'endpoints' | 'profiles'>, dispatch: Dispatch): EndpointStatus[] {
  const ifaces = interfacesByEndpoint(plan, dispatch);
  const knownProfiles = new Set(plan.profiles.map((p) => p.name));
  let budget = MAX_FILE_POLICIES;
  return plan.endpoints.slice(0, MAX_FILE_ENDPOINTS).map((ep) => {
    const stages: StageRef[] = [];
    for (const stage of STAGE_ORDER) {
      const spec = specFor(ep, stage);
      if (!stageApplies(spec)) continue;
      const tiers = spec.tiers.map((t) => {
        const keys = t.policies.slice(0, Math.max(0, budget));
        budget -= keys.length;
        return { tier: t.tier, defaultAction: t.defaultAction, policies: keys.map((key) => ({ key, name: nameOfKey(key), chain: policyChain(spec.dir, nameOfKey(key)) })) };
      });
      const ref: StageRef = { stage, direction: INGRESS.has(stage) ? 'ingress' : 'egress', kind: spec.kind, chain: endpointChain(stage, ep.name), tiers };
      if (spec.kind === 'normal') ref.profiles = ep.profiles.map((name) => (knownProfiles.has(name) ? { name, chain: profileChain(spec.dir, name) } : { name }));
      stages.push(ref);
    }
    return { name: ep.name, interfaces: ifaces.get(ep.name) ?? [], stages };
  });
}
