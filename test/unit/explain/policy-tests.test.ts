import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { parsePolicyTests, PolicyTestsError, runPolicyTests } from '../../../src/explain/policy-tests.ts';
import { formatPolicyTestResult } from '../../../src/explain/policy-tests-format.ts';
import { diffPlans } from '../../../src/explain/plan-diff.ts';
import { parsePortSpec, parseProtocol, parseIcmpSpec } from '../../../src/explain/packet-text.ts';
import { resources } from '../calc/helpers.ts';

const YAML = (policyPorts: string, officeNets = '[198.18.0.0/24]') => `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth1, labels: {host: gw}}
spec: {node: gw, expectedIPs: [198.18.1.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: db-eth0, labels: {host: db}}
spec: {node: db, interfaceName: eth0, expectedIPs: [198.18.2.1]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: office, labels: {role: office}}
spec: {nets: ${officeNets}}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: host == 'gw'
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: role == 'office'}
    destination: {ports: ${policyPorts}}
`;

const plans = (yaml: string) => {
  const rs = resources(yaml);
  return new Map(['gw', 'db'].map((n) => [n, computeNodePlan({ node: n, resources: rs }).plan]));
};

const TESTS = `
tests:
  - name: office reaches web
    from: 198.18.0.5
    to: 198.18.1.1
    port: 443/tcp
    expect: allow
  - name: outsiders do not
    node: gw
    from: 198.18.9.5
    to: 198.18.1.1
    port: 443
    proto: tcp
    expect: deny
  - name: db ping
    node: db
    iface: eth0
    from: 198.18.0.5
    to: 198.18.2.1
    proto: icmp
    icmp: 8/0
    expect: deny
`;

describe('policy tests', () => {
  test('parse, choose the node by expectedIPs, pass and fail with steps', () => {
    const tests = parsePolicyTests(TESTS, 'tests.yaml');
    expect(tests).toHaveLength(3);
    expect(tests[0]).toMatchObject({ direction: 'in', port: { port: 443, protocol: 6 } });
    const p = plans(YAML('[443]'));
    const ok = runPolicyTests(tests, (n) => p.get(n), [...p.keys()]);
    expect(ok.failures).toEqual([]);
    expect(ok.passed).toBe(3);
    expect(ok.results[0]?.note).toBe('node gw chosen: its HostEndpoint gw-eth1 has expectedIPs containing 198.18.1.1');
    // The same tests against a datastore where the web port moved: the first test fails, with why.
    const moved = plans(YAML('[8443]'));
    const bad = runPolicyTests(tests, (n) => moved.get(n), [...moved.keys()]);
    expect(bad.failures.map((f) => f.test.name)).toEqual(['office reaches web']);
    const lines = formatPolicyTestResult(bad.failures[0]!);
    expect(lines[0]).toBe('FAIL office reaches web on gw expected-ips: in 198.18.0.5 -> 198.18.1.1 443/tcp: deny, expected allow (node gw chosen: its HostEndpoint gw-eth1 has expectedIPs containing 198.18.1.1)');
    expect(lines.some((l) => l.includes('end of tier default'))).toBe(true);
  });

  test('a test no node can run fails with the reason, never silently passes', () => {
    const tests = parsePolicyTests('tests: [{name: x, from: 198.18.0.5, to: 198.18.7.7, port: 22/tcp, expect: deny}, {name: y, node: ghost, from: 198.18.0.5, to: 198.18.7.7, port: 22/tcp, expect: deny}]', 't');
    const p = plans(YAML('[443]'));
    const r = runPolicyTests(tests, (n) => p.get(n), [...p.keys()]);
    expect(r.passed).toBe(0);
    expect(r.failures.map((f) => f.problem)).toEqual([
      'no node given, and no host endpoint has expectedIPs containing 198.18.7.7 (the destination); give node',
      'node ghost is unknown (no host endpoint names it)',
    ]);
  });

  const bad: [string, string][] = [
    ['tests: [{name: a, from: 198.18.0.5, to: 198.18.1.1, port: 443/tcp, expect: alow}]', 'tests[0].expect ("a"): expect must be allow or deny'],
    ['tests: [{name: a, from: 198.18.0.5, to: 198.18.1.1, expect: allow}]', 'tests[0].port ("a"): give port (e.g. 443/tcp) or proto (e.g. icmp)'],
    ['tests: [{name: a, from: 198.18.0.5, to: 198.18.1.1, port: 443, expect: allow}]', 'tests[0].port ("a"): needs a protocol: 443/tcp, or proto: tcp'],
    ['tests: [{name: a, from: 198.18.0.5, to: 198.18.1.1, port: 70000/tcp, expect: allow}]', 'tests[0].port ("a"): "70000" is not a port (0-65535)'],
    ['tests: [{name: a, from: 198.18.0.5, to: 198.18.1.1, port: 443/icmp, expect: allow}]', 'tests[0].port ("a"): icmp has no ports (use tcp, udp or sctp)'],
    ['tests: [{name: a, from: 198.18.0.5, to: 198.18.1.1, proto: tcp, expect: allow}]', 'tests[0].port ("a"): protocol 6 needs a port (e.g. 443/tcp)'],
    ['tests: [{name: a, from: 198.18.0.5, to: 198.18.1.1, proto: icmp, icmp: x, expect: allow}]', 'tests[0].icmp ("a"): "x" is not TYPE or TYPE/CODE (0-255, e.g. 8 or 3/1)'],
    ['tests: [{name: a, from: 198.18.0.5, to: host, proto: icmp, expect: allow}]', 'tests[0].to ("a"): to is not an IP address'],
    ['tests: [{name: a, form: 198.18.0.5, from: 198.18.0.5, to: 198.18.1.1, proto: icmp, expect: allow}]', 'tests[0].form ("a"): unknown field "form"'],
    ['tests: [{name: a, direction: sideways, from: 198.18.0.5, to: 198.18.1.1, proto: icmp, expect: allow}]', 'tests[0].direction ("a"): direction must be in or out'],
    ['tests: []', 'tests: tests must not be empty'],
    ['test: []', 'unknown top-level field "test"'],
    ['- 1', 'must be a mapping with a "tests" list'],
    ['tests: [{name: a', 'not YAML'],
    ['', 'must be a mapping'],
  ];
  for (const [text, message] of bad) {
    test(`refused with the index and field: ${message}`, () => {
      expect(() => parsePolicyTests(text, 'f.yaml')).toThrow(PolicyTestsError);
      expect(() => parsePolicyTests(text, 'f.yaml')).toThrow(message);
    });
  }

  test('hostile input: huge, deep aliases, many tests', () => {
    expect(() => parsePolicyTests('x'.repeat(5 * 1024 * 1024), 'f')).toThrow('larger than');
    const bomb = `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ntests: [*d]`;
    expect(() => parsePolicyTests(bomb, 'f')).toThrow(PolicyTestsError);
    const many = `tests:\n${'  - {name: a, from: 198.18.0.5, to: 198.18.1.1, proto: icmp, expect: allow}\n'.repeat(2_001)}`;
    expect(() => parsePolicyTests(many, 'f')).toThrow('more than 2000 tests');
  });
});

describe('packet text', () => {
  test('ports, protocols and ICMP as typed', () => {
    expect(parsePortSpec('443/TCP', 'p')).toEqual({ port: 443, protocol: 6 });
    expect(parsePortSpec('53', 'p')).toEqual({ port: 53 });
    expect(parsePortSpec('1/2/3', 'p')).toContain('is not PORT or PORT/PROTOCOL');
    expect(parseProtocol('47', 'p')).toBe(47);
    expect(parseProtocol('0', 'p')).toContain('is not a protocol');
    expect(parseIcmpSpec('3/1', 'i')).toEqual({ type: 3, code: 1 });
    expect(parseIcmpSpec('256', 'i')).toContain('is not TYPE');
  });
});

describe('plan diff', () => {
  test('rules, set members and endpoints that change; an unchanged node gives nothing', () => {
    const a = plans(YAML('[443]'));
    const b = plans(YAML('[443, 8443]', '[198.18.0.0/24, 198.18.5.0/24]'));
    expect(diffPlans('db', a.get('db'), b.get('db'))).toBeUndefined();
    const d = diffPlans('gw', a.get('gw'), b.get('gw'))!;
    expect(d.changes).toEqual(['policy default/web: changed (ingress rule 0 changed)']);
    expect(d.sets).toEqual([{ id: expect.any(String), selector: 'role == "office"', added: ['198.18.5.0/24'], removed: [] }]);
    const gone = diffPlans('gw', a.get('gw'), undefined)!;
    expect(gone.changes[0]).toContain('node goes');
    expect(gone.changes).toContain('host endpoint gw-eth1: removed (its interface is no longer governed)');
  });
});
