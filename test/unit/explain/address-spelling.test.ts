/**
 * An address is the same address however it is written (fd00::1, fd00:0:0::1, FD00::1): policy
 * tests and explain find the host endpoint whose expectedIPs hold it as the agent's dispatch does
 * (by value), not by text. Before, a differently written IPv6 address made a test "cannot run" and
 * made explain answer "allow: no HostEndpoint governs" for a packet the host endpoint would deny.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { explainCommand } from '../../../src/cli/explain-command.ts';
import { parsePolicyTests, runPolicyTests } from '../../../src/explain/policy-tests.ts';
import { resources } from '../calc/helpers.ts';

const YAML = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth0, labels: {host: gw}}
spec: {node: gw, expectedIPs: ["fd00:0:0::1"]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: host == 'gw'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [22]}}]
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'explain-addr-'));
  writeFileSync(join(dir, 'r.yaml'), YAML);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('addresses compared by value', () => {
  test('policy tests find the host endpoint whatever the spelling', () => {
    const plan = computeNodePlan({ node: 'gw', resources: resources(YAML) }).plan;
    const tests = parsePolicyTests(`tests:
  - {name: short, from: "fd00::5", to: "fd00::1", port: 5432/tcp, expect: deny}
  - {name: upper, from: "fd00::5", to: "FD00:0::1", port: 22/tcp, expect: allow}
`, 't.yaml');
    const report = runPolicyTests(tests, (n) => (n === 'gw' ? plan : undefined), ['gw']);
    expect(report.results.map((r) => [r.test.name, r.problem, r.got])).toEqual([
      ['short', undefined, 'deny'],
      ['upper', undefined, 'allow'],
    ]);
  });

  test('explain with a datastore assumes the interface holds the endpoint\'s addresses whatever the spelling', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: () => undefined };
    const code = await explainCommand(['--node', 'gw', '--resources', dir, '--iface', 'eth0', '--in', '--from', 'fd00::5', '--to', 'fd00::1', '--to-port', '5432/tcp'], io as never);
    expect(code).toBe(0);
    expect(out.join('\n').split('\n')[0]).toBe('deny');
  });

  test('--iface-ip with spaces around the address (accepted, so it must be used)', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: () => undefined };
    const code = await explainCommand(['--node', 'gw', '--resources', dir, '--iface', 'eth0', '--in', '--from', 'fd00::5', '--to', 'fd00::1', '--to-port', '5432/tcp', '--iface-ip', 'eth0= fd00::1 '], io as never);
    expect(code).toBe(0);
    expect(out.join('\n').split('\n')[0]).toBe('deny');
  });
});
