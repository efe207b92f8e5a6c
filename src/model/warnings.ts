// Things a valid resource may say that outpost will not act on: a warning each, so the
// operator learns it from validate, the agent or the relay instead of from a packet capture.
import { unimplementedFelixFields } from './felix-configuration.ts';
import type { FieldProblem } from './decode.ts';
import type { Resource } from './resource.ts';

const HTTP_NO_EFFECT =
  'an HTTP match has no effect on a host (Calico applies it only to workloads with application-layer policy); the rule is enforced without it';

export function resourceWarnings(r: Resource): FieldProblem[] {
  const out: FieldProblem[] = [];
  if (r.kind === 'FelixConfiguration') {
    for (const field of unimplementedFelixFields(r.spec)) {
      out.push({ path: ['spec', field], message: 'not implemented by outpost; it has no effect' });
    }
  }
  if (r.kind === 'GlobalNetworkPolicy' || r.kind === 'StagedGlobalNetworkPolicy' || r.kind === 'Profile') {
    for (const direction of ['ingress', 'egress'] as const) {
      (r.spec[direction] ?? []).forEach((rule, i) => {
        if (rule.http !== undefined) out.push({ path: ['spec', direction, i, 'http'], message: HTTP_NO_EFFECT });
      });
    }
  }
  return out;
}
