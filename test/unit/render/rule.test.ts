import { describe, expect, test } from 'bun:test';
import { CHAIN_NEGATION_LIMIT, EXPAND_LIMIT, renderRule } from '../../../src/render/rule.ts';
import type { PlanRule } from '../../../src/plan/schema.ts';

const marks = { accept: 0x10000, pass: 0x20000 };
const rule = (r: Partial<PlanRule>): PlanRule => ({ action: 'Allow', src: {}, dst: {}, origin: 't', ...r });
const text = (r: PlanRule) => renderRule(r, marks, 'x').map((e) => JSON.stringify(e));

describe('renderRule', () => {
  test('a rule without address matches renders for both families (no nfproto); short port lists become one rule per port', () => {
    const out = text(rule({ protocol: 6, dst: { ports: [[80, 80], [8000, 8080]] } }));
    expect(out).toHaveLength(2);
    expect(out[0]).toContain('"right":80}');
    expect(out[1]).toContain('"right":{"range":[8000,8080]}}');
    for (const r of out) expect(r).not.toContain('nfproto');
  });

  test('positive lists expand into at most EXPAND_LIMIT rules per family; longer lists stay one anonymous set', () => {
    const nets = ['198.18.1.0/24', '198.18.3.0/24', '198.18.2.0/24'];
    const ports: [number, number][] = [[22, 22], [443, 443]];
    const out = text(rule({ protocol: 6, ipVersion: 4, src: { nets }, dst: { ports } }));
    // 3 nets × 2 ports: six rules, in sorted net order, each with bare values, the same verdict.
    expect(out).toHaveLength(6);
    expect(out.join()).not.toContain('"set"');
    expect(out[0]).toContain('"addr":"198.18.1.0"');
    expect(out[0]).toContain('"right":22}');
    expect(out[1]).toContain('"addr":"198.18.1.0"');
    expect(out[1]).toContain('"right":443}');
    expect(out[5]).toContain('"addr":"198.18.3.0"');
    for (const r of out) expect(r).toContain('{"return":null}');
    // 3 nets × 3 ports would be 9 rules: the nets (first of two equal lengths) expand, the ports stay a set.
    const three = text(rule({ protocol: 6, ipVersion: 4, src: { nets }, dst: { ports: [...ports, [8080, 8080]] } }));
    expect(three).toHaveLength(3);
    for (const r of three) expect(r).toContain('{"set":[22,443,8080]}');
    const many = Array.from({ length: EXPAND_LIMIT + 1 }, (_, i) => `198.18.${i}.0/24`);
    const long = text(rule({ ipVersion: 4, src: { nets: many } }));
    expect(long).toHaveLength(1);
    expect(long[0]).toContain('{"set":[');
    expect(text(rule({ ipVersion: 4, src: { nets: many.slice(0, EXPAND_LIMIT) } }))).toHaveLength(EXPAND_LIMIT);
  });

  test('the expanded rules are disjoint: overlapping port ranges are merged, covered nets dropped', () => {
    const out = text(rule({ protocol: 17, dst: { ports: [[70, 90], [80, 80], [91, 95], [100, 100]] } }));
    expect(out).toHaveLength(2);
    expect(out[0]).toContain('"right":{"range":[70,95]}}');
    expect(out[1]).toContain('"right":100}');
    const nets = text(rule({ ipVersion: 4, src: { nets: ['198.18.0.0/16', '198.18.5.0/24'] } }));
    expect(nets).toHaveLength(1);
    expect(nets[0]).toContain('{"prefix":{"addr":"198.18.0.0","len":16}}');
  });

  test('negated lists are chained "!=" matches in one rule; a long one is a negated anonymous set', () => {
    const out = text(rule({ ipVersion: 4, src: { notNets: ['198.18.1.0/24', '198.18.2.0/24'] }, dst: { notPorts: [[22, 22], [80, 81]] } }));
    expect(out).toHaveLength(1);
    const ne = out[0]!.match(/"op":"!="/g) ?? [];
    expect(ne).toHaveLength(4);
    expect(out[0]).not.toContain('"set"');
    const many = Array.from({ length: CHAIN_NEGATION_LIMIT + 1 }, (_, i) => `198.18.${i}.0/24`);
    const long = text(rule({ ipVersion: 4, src: { notNets: many } }));
    expect(long).toHaveLength(1);
    expect(long[0]).toContain('"op":"!=","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"set":[');
  });

  test('a Log rule expands too: one packet still matches one of its rules only', () => {
    const out = text(rule({ action: 'Log', protocol: 6, ipVersion: 4, dst: { ports: [[1, 10], [5, 20]] } }));
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('"right":{"range":[1,20]}}');
  });

  test('nets are filtered per family; a family whose nets field empties is dropped', () => {
    const out = text(rule({ src: { nets: ['198.18.1.0/24'] } }));
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('"ipv4"');
    expect(out[0]).toContain('{"prefix":{"addr":"198.18.1.0","len":24}}');
  });

  test('selector sets render for both families, with the per-family set name', () => {
    const out = text(rule({ src: { set: 's-abc' } }));
    expect(out).toHaveLength(2);
    expect(out[0]).toContain('"@s-abc-4"');
    expect(out[1]).toContain('"@s-abc-6"');
    expect(out[1]).toContain('"ip6"');
  });

  test('numeric and named ports are ORed by splitting the rule', () => {
    const out = text(rule({ protocol: 6, dst: { ports: [[443, 443]], namedPortSet: 'n-x' }, ipVersion: 4 }));
    expect(out).toHaveLength(2);
    expect(out[0]).toContain('443');
    expect(out[0]).not.toContain('@n-x-4');
    expect(out[1]).toContain('@n-x-4');
    expect(out[1]).toContain('"concat"');
  });

  test('verdicts: Allow and Pass set their mark and return, Deny drops, Log falls through', () => {
    expect(text(rule({ action: 'Allow' }))[0]).toContain('{"|":[{"meta":{"key":"mark"}},65536]}');
    expect(text(rule({ action: 'Pass' }))[0]).toContain('131072');
    expect(text(rule({ action: 'Deny' }))[0]).toContain('{"drop":null}');
    const log = text(rule({ action: 'Log' }))[0]!;
    expect(log).toContain('"log"');
    expect(log).not.toContain('return');
  });

  test('icmp with a code is two matches, never a concatenation (nft 1.0.6 rejects one)', () => {
    const out = text(rule({ protocol: 1, icmp: { type: 8, code: 0 } }));
    expect(out).toHaveLength(1);
    expect(out[0]).not.toContain('concat');
    expect(out[0]).toContain('{"match":{"op":"==","left":{"payload":{"protocol":"icmp","field":"type"}},"right":8}}');
    expect(out[0]).toContain('{"match":{"op":"==","left":{"payload":{"protocol":"icmp","field":"code"}},"right":0}}');
  });

  test('notICMP with a code is !(type && code): two disjoint rules, "type != T" and "type == T, code != C"', () => {
    const out = text(rule({ protocol: 1, notICMP: { type: 3, code: 1 } }));
    expect(out).toHaveLength(2);
    expect(out.join()).not.toContain('concat');
    expect(out[0]).toContain('{"match":{"op":"!=","left":{"payload":{"protocol":"icmp","field":"type"}},"right":3}}');
    expect(out[0]).not.toContain('"field":"code"');
    expect(out[1]).toContain('{"match":{"op":"==","left":{"payload":{"protocol":"icmp","field":"type"}},"right":3}}');
    expect(out[1]).toContain('{"match":{"op":"!=","left":{"payload":{"protocol":"icmp","field":"code"}},"right":1}}');
  });

  test('notICMP without a code is one negated type match', () => {
    const out = text(rule({ protocol: 58, notICMP: { type: 128 } }));
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('{"match":{"op":"!=","left":{"payload":{"protocol":"icmpv6","field":"type"}},"right":128}}');
  });

  test('a rule whose plan carries ipVersion (protocol ICMP/ICMPv6 by name) renders for that family only; a bare protocol number for both', () => {
    for (const [protocol, ipVersion, fam] of [[1, 4, 'ipv4'], [58, 6, 'ipv6']] as const) {
      const out = text(rule({ protocol, ipVersion }));
      expect(out).toHaveLength(1);
      expect(out[0]).toContain(`{"match":{"op":"==","left":{"meta":{"key":"nfproto"}},"right":"${fam}"}}`);
      // No family pinned, no addresses: one rule with no nfproto match (both families).
      const any = text(rule({ protocol }));
      expect(any).toHaveLength(1);
      expect(any[0]).not.toContain('nfproto');
    }
    // With a selector set: only the pinned family's set is referenced.
    const v4 = text(rule({ protocol: 1, ipVersion: 4, src: { set: 's-a' } }));
    expect(v4).toHaveLength(1);
    expect(v4[0]).toContain('@s-a-4');
  });

  test('ipv6 off: no IPv6 rule is rendered', () => {
    expect(renderRule(rule({ src: { set: 's-a' } }), marks, 'x', false).map((e) => JSON.stringify(e))).toEqual(text(rule({ src: { set: 's-a' } })).slice(0, 1));
    expect(renderRule(rule({ protocol: 58, ipVersion: 6 }), marks, 'x', false)).toEqual([]);
  });

  test('an ICMPv6 type match uses the icmpv6 header', () => {
    expect(text(rule({ protocol: 58, icmp: { type: 128 } }))[0]).toContain('"protocol":"icmpv6"');
  });
});
