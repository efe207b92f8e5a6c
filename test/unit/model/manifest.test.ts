// parseManifest: multi-document YAML, JSON, List wrappers, syntax errors, and
// "invalid resources are skipped while the valid ones load".
import { describe, expect, test } from 'bun:test';
import { formatResourceError, parseManifest, resourceKey } from '../../../src/model/index.ts';

const keys = (text: string) => parseManifest(text, 'f.yaml').resources.map(resourceKey);

const HEP_YAML = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: web1-eth0
  labels:
    role: web
spec:
  node: web1
  interfaceName: eth0
  expectedIPs: ["10.0.0.5"]
`;

const GNP_YAML = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-web
spec:
  selector: role == 'web'
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [80, 443]
`;

describe('parseManifest', () => {
  test('multi-document YAML with empty documents', () => {
    const text = `---\n${HEP_YAML}---\n# only a comment\n---\n${GNP_YAML}---\n`;
    const r = parseManifest(text, 'f.yaml');
    expect(r.errors).toEqual([]);
    expect(r.resources.map(resourceKey)).toEqual(['HostEndpoint/web1-eth0', 'GlobalNetworkPolicy/allow-web']);
  });

  test('an empty file yields nothing', () => {
    expect(parseManifest('', 'f.yaml')).toEqual({ resources: [], errors: [], warnings: [] });
    expect(parseManifest('# nothing\n---\n', 'f.yaml')).toEqual({ resources: [], errors: [], warnings: [] });
  });

  test('kind: List', () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: projectcalico.org/v3
    kind: Tier
    metadata: {name: security}
    spec: {order: 100}
  - apiVersion: projectcalico.org/v3
    kind: Profile
    metadata: {name: p1}
`;
    expect(keys(text)).toEqual(['Tier/security', 'Profile/p1']);
  });

  test('kind: <Kind>List, items may omit kind and apiVersion', () => {
    const text = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSetList
items:
  - metadata: {name: a}
    spec: {nets: [10.0.0.0/8]}
  - apiVersion: projectcalico.org/v3
    kind: GlobalNetworkSet
    metadata: {name: b}
`;
    expect(keys(text)).toEqual(['GlobalNetworkSet/a', 'GlobalNetworkSet/b']);
  });

  test('a <Kind>List of a Calico kind outpost does not use is skipped with a warning', () => {
    const r = parseManifest('apiVersion: projectcalico.org/v3\nkind: BGPPeerList\nitems: [{metadata: {name: a}}]\n', 'f.yaml');
    expect(r.resources).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.warnings.map(formatResourceError)).toEqual([
      'f.yaml: skipped BGPPeerList (1 item): outpost does not use these Calico kinds (they never govern a host)',
    ]);
  });

  test('a <Kind>List of a kind that is not Calico is an error with a suggestion', () => {
    const r = parseManifest('apiVersion: projectcalico.org/v3\nkind: HostEndPointList\nitems: []\n', 'f.yaml');
    expect(r.errors.map((e) => e.message)).toEqual([
      'kind "HostEndPointList" is not a projectcalico.org/v3 kind; did you mean `HostEndpointList`?',
    ]);
  });

  test('JSON object and JSON array', () => {
    const obj = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Profile',
      metadata: { name: 'p1' },
      spec: { ingress: [{ action: 'Allow' }] },
    };
    expect(keys(JSON.stringify(obj))).toEqual(['Profile/p1']);
    const arr = [obj, { ...obj, metadata: { name: 'p2' } }];
    expect(keys(JSON.stringify(arr, null, 2))).toEqual(['Profile/p1', 'Profile/p2']);
  });

  test('a YAML syntax error yields one error naming the source and the line', () => {
    const text = `${HEP_YAML}---\napiVersion: projectcalico.org/v3\nkind: Profile\nmetadata:\n  name: a: b\n`;
    const r = parseManifest(text, 'hosts/web.yaml');
    expect(r.resources).toEqual([]);
    expect(r.errors).toHaveLength(1);
    const msg = formatResourceError(r.errors[0]!);
    expect(msg).toStartWith('hosts/web.yaml: YAML syntax error at line ');
    expect(msg).toMatch(/line 15, column \d+/);
  });

  test('duplicate keys are a syntax error', () => {
    const r = parseManifest('kind: Profile\nkind: Tier\n', 'd.yaml');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.message).toContain('line 2');
  });

  test('invalid JSON reports a line', () => {
    const r = parseManifest('{\n  "kind": "Profile",\n  "metadata": {"name": "x"\n', 'x.json');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.message).toMatch(/JSON syntax error at line \d+/);
  });

  test('one bad and one good resource in a file: the good one loads, the bad one is reported', () => {
    const bad = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: broken
spec:
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [80, "90:80"]
        nets: [10.0.0.1/24]
`;
    const r = parseManifest(`${bad}---\n${HEP_YAML}`, 'policies/web.yaml');
    expect(r.resources.map(resourceKey)).toEqual(['HostEndpoint/web1-eth0']);
    expect(r.errors.map(formatResourceError)).toEqual([
      "policies/web.yaml: GlobalNetworkPolicy 'broken': spec.ingress[0].destination.nets[0]: 10.0.0.1/24 is not a strictly masked CIDR (did you mean 10.0.0.0/24?)",
      "policies/web.yaml: GlobalNetworkPolicy 'broken': spec.ingress[0].destination.ports[1]: port range 90:80 has min > max",
    ]);
  });

  test('Calico kinds that never govern a host are skipped with one warning line per file', () => {
    const text = `apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: np, namespace: prod}\n---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: peer1}\n---\n${GNP_YAML}---\napiVersion: projectcalico.org/v3\nkind: StagedNetworkPolicy\nmetadata: {name: s}\n`;
    const r = parseManifest(text, 'f.yaml');
    expect(r.resources.map(resourceKey)).toEqual(['GlobalNetworkPolicy/allow-web']);
    expect(r.errors).toEqual([]);
    expect(r.warnings.map(formatResourceError)).toEqual([
      "f.yaml: skipped NetworkPolicy 'prod/np', BGPPeer 'peer1', StagedNetworkPolicy 's': outpost does not use these Calico kinds (they never govern a host)",
    ]);
  });

  test('skipped kinds and lists are recognised with any case of Kind / APIVersion / Items / Metadata (Go decodes them so)', () => {
    const text = `APIVersion: projectcalico.org/v3\nKind: NetworkPolicy\nMetadata: {Name: np, Namespace: prod}\n---\napiversion: projectcalico.org/v3\nKIND: BGPPeerList\nItems: [{metadata: {name: a}}]\n`;
    const r = parseManifest(text, 'f.yaml');
    expect(r.errors).toEqual([]);
    expect(r.warnings.map(formatResourceError)).toEqual([
      "f.yaml: skipped BGPPeerList (1 item), NetworkPolicy 'prod/np': outpost does not use these Calico kinds (they never govern a host)",
    ]);
  });

  test('a kind that is not a Calico kind is an error with the nearest kind', () => {
    const text = `apiVersion: projectcalico.org/v3\nkind: HostEndPoint\nmetadata: {name: h}\n---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicyy\nmetadata: {name: g}\n---\napiVersion: projectcalico.org/v3\nkind: Gadget\nmetadata: {name: x}\n`;
    const r = parseManifest(text, 'f.yaml');
    expect(r.resources).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.errors.map(formatResourceError)).toEqual([
      'f.yaml: HostEndPoint \'h\': kind: kind "HostEndPoint" is not a projectcalico.org/v3 kind; did you mean `HostEndpoint`?',
      'f.yaml: GlobalNetworkPolicyy \'g\': kind: kind "GlobalNetworkPolicyy" is not a projectcalico.org/v3 kind; did you mean `GlobalNetworkPolicy`?',
      'f.yaml: Gadget \'x\': kind: kind "Gadget" is not a projectcalico.org/v3 kind',
    ]);
  });

  test('a Kubernetes NetworkPolicy (another apiVersion) is not skipped silently', () => {
    const r = parseManifest('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\n', 'f.yaml');
    expect(r.warnings).toEqual([]);
    expect(r.errors).toHaveLength(1);
  });

  test('non-object documents and wrong apiVersion are reported', () => {
    const r = parseManifest('just a string\n---\napiVersion: projectcalico.org/v1\nkind: Profile\nmetadata: {name: p}\n', 'f.yaml');
    expect(r.resources).toEqual([]);
    expect(r.errors.map((e) => e.message)).toEqual([
      'a resource must be an object (got "just a string")',
      'apiVersion must be projectcalico.org/v3 (got "projectcalico.org/v1")',
    ]);
  });

  test('YAML 1.2: unquoted yes/no and timestamps stay strings', () => {
    const text = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: s
  creationTimestamp: 2026-01-01T00:00:00Z
  labels: {enabled: yes}
`;
    const r = parseManifest(text, 'f.yaml');
    expect(r.errors).toEqual([]);
    expect(r.resources[0]?.metadata).toEqual({
      name: 's',
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { enabled: 'yes' },
    });
  });
});
