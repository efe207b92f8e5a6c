/**
 * The compact facts about what is enforced that the retained MQTT status carries besides the
 * state (protocol/status.ts): each HEP and the interfaces it governs, and whether the node
 * matches no HEP at all.
 */
import type { Dispatch } from '../calc/dispatch.ts';
import type { NodePlan } from '../plan/schema.ts';
import type { StagedSummary, StatusEndpoint } from '../protocol/status.ts';

export interface StatusExtras {
  appliedAt?: Date;
  applyMs?: number;
  endpoints?: StatusEndpoint[];
  matchesNothing?: boolean;
  heldBack?: number | undefined;
  staged?: StagedSummary[];
}

/** HEP name → the interfaces it governs on this host ("*" for the wildcard HEP), in plan order. */
export function interfacesByEndpoint(plan: Pick<NodePlan, 'endpoints'>, dispatch: Dispatch): Map<string, string[]> {
  const out = new Map<string, string[]>(plan.endpoints.map((e) => [e.name, []]));
  for (const [iface, ep] of dispatch.byInterface) out.get(ep)?.push(iface);
  if (dispatch.wildcard !== undefined) out.get(dispatch.wildcard)?.push('*');
  return out;
}

export function endpointSummary(plan: Pick<NodePlan, 'endpoints'>, dispatch: Dispatch): { endpoints: StatusEndpoint[]; matchesNothing: boolean } {
  const endpoints = [...interfacesByEndpoint(plan, dispatch)].map(([name, interfaces]) => ({ name, interfaces }));
  return { endpoints, matchesNothing: plan.endpoints.length === 0 };
}
