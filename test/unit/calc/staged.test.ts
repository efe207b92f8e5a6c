// Staged policies in the node plan: optional fields (absent when none, so older plans keep
// their hash), evaluation order, directions, staged deletes, and the enforced plan untouched.
import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { PlanIndex } from '../../../src/calc/plan-index.ts';
import { canonicalJson } from '../../../src/protocol/canonical-json.ts';
import * as v from 'valibot';
import { NodePlanSchema } from '../../../src/plan/schema.ts';
import { resources } from './helpers.ts';

const BASE = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: web1-eth0, labels: {role: web}}
spec: {node: web1, interfaceName: eth0, profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: db1-eth0, labels: {role: db}}
spec: {node: db1, interfaceName: eth0}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 10}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: office, labels: {zone: office}}
spec: {nets: [198.18.7.0/24]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-https}
spec:
  selector: role == 'web'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]
`;

const STAGED = `
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: z-deny-443}
spec:
  selector: role == 'web'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [443]}}]
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: a-office}
spec:
  tier: security
  stagedAction: Learn
  selector: all()
  ingress: [{action: Allow, source: {selector: zone == 'office'}}]
  egress: [{action: Pass}]
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: egress-only}
spec:
  selector: role == 'web'
  types: [Egress]
  egress: [{action: Log}, {action: Deny, protocol: UDP}]
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: allow-https}
spec: {stagedAction: Delete}
`;

const planOf = (yaml: string, node = 'web1') => computeNodePlan({ node, resources: resources(yaml) });

describe('staged policies in the node plan', () => {
  test('without staged policies the plan has no staged field at all (same bytes as before)', () => {
    const { plan } = planOf(BASE);
    expect('staged' in plan).toBe(false);
    for (const ep of plan.endpoints) expect('staged' in ep).toBe(false);
    // Only staged deletes: nothing measured, nothing added.
    const onlyDelete = planOf(`${BASE}---\napiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: allow-https}\nspec: {stagedAction: Delete}\n`).plan;
    expect(canonicalJson(onlyDelete)).toBe(canonicalJson(plan));
  });

  test('keys per endpoint and direction in evaluation order (tier order, then order, then name)', () => {
    const { plan, warnings } = planOf(BASE + STAGED);
    expect(warnings).toEqual([]);
    expect(plan.endpoints[0]!.staged).toEqual({
      ingress: ['security/a-office', 'default/z-deny-443'],
      egress: ['security/a-office', 'default/egress-only'],
    });
    expect(plan.staged!.map((p) => p.key)).toEqual(['default/egress-only', 'default/z-deny-443', 'security/a-office']);
    const deny = plan.staged!.find((p) => p.key === 'default/z-deny-443')!;
    expect(deny.ingress).toEqual([{ action: 'Deny', protocol: 6, src: {}, dst: { ports: [[443, 443]] }, origin: 'staged default/z-deny-443 ingress[0]' }]);
    expect(v.safeParse(NodePlanSchema, plan).success).toBe(true);
  });

  test('a staged policy selects like an enforced one: the db host only measures the all() policy', () => {
    const { plan } = planOf(BASE + STAGED, 'db1');
    expect(plan.endpoints[0]!.staged).toEqual({ ingress: ['security/a-office'], egress: ['security/a-office'] });
    expect(plan.staged!.map((p) => p.key)).toEqual(['security/a-office']);
  });

  test('selector sets referenced by staged rules are computed like any other', () => {
    const { plan } = planOf(BASE + STAGED);
    const office = plan.staged!.find((p) => p.key === 'security/a-office')!.ingress[0]!;
    const set = plan.ipSets.find((s) => s.id === office.src.set);
    expect(set?.v4).toEqual(['198.18.7.0/24']);
  });

  test('the enforced part of the plan is the same with or without staged policies', () => {
    const without = planOf(BASE).plan;
    const withStaged = planOf(BASE + STAGED).plan;
    const strip = ({ staged: _s, ipSets: _i, ...p }: typeof without) => ({ ...p, endpoints: p.endpoints.map(({ staged: _e, ...e }) => e) });
    expect(canonicalJson(strip(withStaged))).toBe(canonicalJson(strip(without)));
    // Enforced verdict material is untouched: the enforced policy keeps its name while a staged delete of it exists.
    expect(withStaged.policies.map((p) => p.key)).toEqual(['default/allow-https']);
  });

  test('a tier only staged policies name adds no missing-tier warning to the enforced plan', () => {
    const { plan, warnings } = planOf(`${BASE}---\napiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: ghost-p}\nspec: {tier: ghost, selector: all(), ingress: [{action: Deny}]}\n`);
    expect(warnings).toEqual([]);
    expect(plan.endpoints[0]!.staged!.ingress).toEqual(['ghost/ghost-p']);
  });

  test("the relay's index gives the same bytes, through adds, edits and removals of staged policies", () => {
    const index = new PlanIndex();
    const steps = [BASE, BASE + STAGED, BASE + STAGED.replace("role == 'web'\n  ingress", "role == 'db'\n  ingress"), BASE];
    for (const yaml of steps) {
      const res = resources(yaml);
      index.update(res);
      for (const node of ['web1', 'db1']) {
        expect(canonicalJson(index.plan(node).plan)).toBe(canonicalJson(computeNodePlan({ node, resources: res }).plan));
      }
    }
  });
});
