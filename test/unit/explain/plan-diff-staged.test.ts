/**
 * `outpost diff` of a change to a StagedGlobalNetworkPolicy: it names the staged policy (and, when
 * which endpoints it measures changes, the endpoint), never "set layout changed" or an empty "()".
 */
import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { diffPlans } from '../../../src/explain/plan-diff.ts';
import { resources } from '../calc/helpers.ts';

const HEP = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth0, labels: {host: gw}}
spec: {node: gw, interfaceName: eth0, expectedIPs: [198.18.1.1]}
`;
const staged = (action: string, selector = 'all()') => `
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: trial}
spec:
  selector: ${selector}
  ingress: [{action: ${action}, protocol: TCP, destination: {ports: [22]}}]
`;
const plan = (yaml: string) => computeNodePlan({ node: 'gw', resources: resources(yaml) }).plan;

describe('diff of staged policies', () => {
  test('a staged rule that changes is named as a staged policy change', () => {
    const d = diffPlans('gw', plan(HEP + staged('Allow')), plan(HEP + staged('Deny')));
    expect(d).toBeDefined();
    expect(d!.changes).toEqual(['staged policy default/trial: changed (ingress rule 0 changed (Allow -> Deny))']);
  });

  test('a staged policy removed: the policy and the endpoint it measured', () => {
    const d = diffPlans('gw', plan(HEP + staged('Allow')), plan(HEP));
    expect(d!.changes).toContain('staged policy default/trial: removed');
    expect(d!.changes).toContain('host endpoint gw-eth0: changed (which staged policies measure it)');
    for (const c of d!.changes) expect(c).not.toContain('()');
  });

  test('a staged policy added', () => {
    const d = diffPlans('gw', plan(HEP), plan(HEP + staged('Deny')));
    expect(d!.changes).toContain('staged policy default/trial: added (1 ingress, 0 egress rules)');
  });
});
