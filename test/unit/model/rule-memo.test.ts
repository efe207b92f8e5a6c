// Valid rules are remembered by their JSON (rule.ts): a repeated rule must come out exactly as
// the schema makes it, as a copy of its own, and a rule the schema refuses is never remembered.
import { describe, expect, test } from 'bun:test';
import { errorsOf, gnp, valid, type Obj } from './helpers.ts';
import type { GlobalNetworkPolicy } from '../../../src/model/index.ts';

const ingressOf = (raw: unknown) => (valid(raw) as GlobalNetworkPolicy).spec.ingress ?? [];

describe('remembered rules', () => {
  test('a repeated rule has the same output (transforms included), never the same objects', () => {
    const rule: Obj = { action: 'Allow', protocol: '6', destination: { ports: ['80', '1000:1010', 'http'] }, source: { nets: ['198.18.0.0/24'] } };
    const first = ingressOf(gnp({ ingress: [rule] }, 'a'));
    const second = ingressOf(gnp({ ingress: [structuredClone(rule), structuredClone(rule)] }, 'b'));
    expect(first[0]!.protocol).toBe(6);
    expect(first[0]!.destination?.ports).toEqual([80, '1000:1010', 'http']);
    expect(second).toEqual([first[0]!, first[0]!]);
    expect(second[0]).not.toBe(first[0]);
    expect(second[0]).not.toBe(second[1]);
    expect(second[0]!.destination).not.toBe(first[0]!.destination);
  });

  test('key order in the input does not change the output', () => {
    const a = ingressOf(gnp({ ingress: [{ action: 'Deny', protocol: 'UDP', source: { selector: "role == 'x'" } }] }, 'a'));
    const b = ingressOf(gnp({ ingress: [{ source: { selector: "role == 'x'" }, protocol: 'UDP', action: 'Deny' }] }, 'b'));
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  test('an invalid rule is refused with the same errors every time, also next to valid copies of a close rule', () => {
    const good: Obj = { action: 'Allow', protocol: 'TCP', destination: { ports: [80] } };
    const bad: Obj = { action: 'Allow', protocol: 'TCP', destination: { ports: [0] } };
    valid(gnp({ ingress: [good] }));
    const once = errorsOf(gnp({ ingress: [good, bad] }));
    const again = errorsOf(gnp({ ingress: [good, bad] }));
    expect(once.map((e) => [e.path, e.message])).toEqual([['spec.ingress[1].destination.ports[0]', 'port 0 must be an integer from 1 to 65535']]);
    expect(again).toEqual(once);
  });

});
