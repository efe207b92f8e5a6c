import { describe, expect, test } from 'bun:test';
import { buildMembers, selectCidrs } from '../../../src/calc/members.ts';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { parseSelector } from '../../../src/selector/index.ts';
import type { Profile } from '../../../src/model/profile.ts';
import type { Resource } from '../../../src/model/resource.ts';
import { resources } from './helpers.ts';

// What a Calico cluster in etcd mode holds: kube-controllers' namespace and service-account
// profiles, and WEPs as the CNI plugin writes them (namespace/orchestrator labels stored).
const CLUSTER = `
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.shop}
spec: {labelsToApply: {pcns.projectcalico.org/name: shop, pcns.team: x, role: from-namespace}, ingress: [{action: Allow}], egress: [{action: Allow}]}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: ksa.shop.web}
spec: {labelsToApply: {pcsa.projectcalico.org/name: web, pcsa.tier: front}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node1-k8s-web--0-eth0
  namespace: shop
  labels: {role: frontend, projectcalico.org/namespace: shop, projectcalico.org/orchestrator: k8s, pcns.team: forged, pcsa.tier: forged}
spec:
  orchestrator: k8s
  node: node1
  pod: web-0
  endpoint: eth0
  serviceAccountName: web
  ipNetworks: [198.18.9.5/32, 'fd00:9::5/128']
  ipNATs: [{internalIP: 198.18.9.5, externalIP: 198.18.99.5}]
  profiles: [kns.shop, ksa.shop.web]
  interfaceName: cali0123456789a
  ports: [{name: http, protocol: TCP, port: 8080}, {name: '', protocol: TCP, port: 9000, hostPort: 9000}]
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: partners, namespace: shop, labels: {role: partner}}
spec: {nets: [198.18.10.0/24]}
`;

const byKind = (rs: Resource[]) => ({
  profiles: new Map(rs.filter((r): r is Profile => r.kind === 'Profile').map((p) => [p.metadata.name, p])),
  networkSets: rs.filter((r) => r.kind === 'NetworkSet'),
  workloadEndpoints: rs.filter((r) => r.kind === 'WorkloadEndpoint'),
});

function members() {
  const k = byKind(resources(CLUSTER));
  return buildMembers([], [], k.profiles, { networkSets: k.networkSets, workloadEndpoints: k.workloadEndpoints });
}

const select = (text: string) => {
  const r = parseSelector(text);
  if (!r.ok) throw new Error(r.error);
  return selectCidrs(members(), (l) => r.selector.evaluate(l));
};

describe('WorkloadEndpoint members', () => {
  test('carry the labels Felix gives them: stored, service account, profiles; pcns./pcsa. only from profiles', () => {
    const wep = members().find((m) => m.key === 'WorkloadEndpoint/shop/node1-k8s-web--0-eth0');
    expect(wep?.labels).toEqual({
      role: 'frontend', // own label wins over kns.shop's role
      'projectcalico.org/namespace': 'shop',
      'projectcalico.org/orchestrator': 'k8s',
      'projectcalico.org/serviceaccount': 'web',
      'pcns.projectcalico.org/name': 'shop',
      'pcns.team': 'x', // the forged own label was dropped, the profile's applies
      'pcsa.projectcalico.org/name': 'web',
      'pcsa.tier': 'front',
    });
  });

  test('contribute their ipNetworks as host routes, not their NAT addresses', () => {
    expect(select("role == 'frontend'")).toEqual({ v4: ['198.18.9.5/32'], v6: ['fd00:9::5/128'] });
    expect(select("pcns.team == 'x' && pcsa.tier == 'front'").v4).toEqual(['198.18.9.5/32']);
  });

  test('named ports: named entries only, crossed with every address', () => {
    const wep = members().find((m) => m.key.startsWith('WorkloadEndpoint/'));
    expect(wep?.ports).toEqual([{ name: 'http', protocol: 6, port: 8080 }]);
  });

  test('a WEP whose profile is missing keeps its own labels only', () => {
    const k = byKind(resources(CLUSTER));
    const [m] = buildMembers([], [], new Map(), { workloadEndpoints: k.workloadEndpoints });
    expect(m?.labels['pcns.team']).toBeUndefined();
    expect(m?.labels['role']).toBe('frontend');
  });
});

describe('NetworkSet members', () => {
  test('get the namespace label and the namespace profile kns.<ns> as parent', () => {
    const set = members().find((m) => m.key === 'NetworkSet/shop/partners');
    expect(set?.labels).toEqual({
      role: 'partner',
      'projectcalico.org/namespace': 'shop',
      'pcns.projectcalico.org/name': 'shop',
      'pcns.team': 'x',
    });
    expect(set?.cidrs.length).toBe(1);
    expect(select("projectcalico.org/namespace == 'shop'").v4).toEqual(['198.18.10.0/24', '198.18.9.5/32']);
  });

  test('a manifest without a namespace is in "default" (as calicoctl stores it)', () => {
    const rs = resources(`apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: lab}
spec: {nets: [198.18.11.0/24]}
`);
    const [m] = buildMembers([], [], new Map(), { networkSets: byKind(rs).networkSets });
    expect(m?.key).toBe('NetworkSet/default/lab');
    expect(m?.labels['projectcalico.org/namespace']).toBe('default');
  });
});

describe('node plans see cluster peers', () => {
  const GW = `
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth0, labels: {host: gw}}
spec: {node: gw, interfaceName: eth0, expectedIPs: [198.18.1.1]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: from-cluster}
spec:
  selector: host == 'gw'
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: "role == 'frontend'"}}
  - {action: Allow, protocol: TCP, destination: {selector: "role == 'frontend'", ports: [http]}}
  - {action: Allow, source: {selector: "role == 'partner'"}}
`;

  test('WEP addresses, WEP named ports and NetworkSet nets reach the plan', () => {
    const { plan } = computeNodePlan({ node: 'gw', resources: resources(CLUSTER + GW) });
    const v4 = [...new Set(plan.ipSets.flatMap((s) => s.v4))].sort();
    expect(v4).toEqual(['198.18.10.0/24', '198.18.9.5/32']);
    expect(plan.portSets.flatMap((s) => s.v4)).toEqual([['198.18.9.5', 6, 8080]]);
  });
});
