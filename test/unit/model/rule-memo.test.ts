// Valid rules are remembered by their JSON while a manifest file is validated (rule.ts): a
// repeated rule must come out exactly as the schema makes it, as a copy of its own, and a rule
// the schema refuses is never remembered.
import { describe, expect, test } from 'bun:test';
import { parseManifest, type GlobalNetworkPolicy } from '../../../src/model/index.ts';

const policy = (name: string, rules: string) => `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: ${name}
spec:
  ingress:
${rules}`;

const allow = `    - action: Allow
      protocol: "6"
      source:
        nets: [198.18.0.0/24]
      destination:
        ports: ["80", "1000:1010", http]
`;

function ingressOf(text: string) {
  const r = parseManifest(text, 'test.yaml');
  expect(r.errors).toEqual([]);
  return r.resources.map((p) => (p as GlobalNetworkPolicy).spec.ingress ?? []);
}

describe('remembered rules', () => {
  test('a repeated rule has the schema output (transforms included), never shared objects', () => {
    const [a, b] = ingressOf(policy('a', allow) + policy('b', allow + allow));
    expect(a![0]!.protocol).toBe(6);
    expect(a![0]!.destination?.ports).toEqual([80, '1000:1010', 'http']);
    expect(b).toEqual([a![0]!, a![0]!]);
    expect(b![0]).not.toBe(a![0]);
    expect(b![0]).not.toBe(b![1]);
    expect(b![0]!.destination).not.toBe(a![0]!.destination);
    expect(b![0]!.destination!.ports).not.toBe(b![1]!.destination!.ports);
  });

  test('the same rule with its keys in another order gives the same output', () => {
    const reordered = `    - destination:
        ports: ["80", "1000:1010", http]
      source:
        nets: [198.18.0.0/24]
      protocol: "6"
      action: Allow
`;
    const [a, b] = ingressOf(policy('a', allow) + policy('b', reordered));
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  test('an invalid rule after valid copies of a close one is refused with the schema error, each time', () => {
    const good = `    - action: Allow
      protocol: TCP
      destination:
        ports: [80]
`;
    const bad = good.replace('[80]', '[0]');
    const text = policy('a', good) + policy('b', good + bad) + policy('c', bad + good);
    const r = parseManifest(text, 'test.yaml');
    expect(r.errors.map((e) => [e.name, e.path, e.message])).toEqual([
      ['b', 'spec.ingress[1].destination.ports[0]', 'port 0 must be an integer from 1 to 65535'],
      ['c', 'spec.ingress[0].destination.ports[0]', 'port 0 must be an integer from 1 to 65535'],
    ]);
  });
});
