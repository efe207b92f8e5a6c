import { describe, expect, test } from 'bun:test';
import { expandRule } from '../../../src/render/set-split.ts';
import { isCanonicalV4Host, splitMembers } from '../../../src/render/set-members.ts';

const saddr = { payload: { protocol: 'ip', field: 'saddr' } };
const daddr = { payload: { protocol: 'ip', field: 'daddr' } };
const inSet = (left: unknown, name: string, op = '==') => ({ match: { op, left, right: `@${name}` } });
const part = (id: string, hasHosts: boolean, hasPrefixes: boolean) => ({ hosts: `${id}-4`, prefixes: `${id}-4p`, hasHosts, hasPrefixes });
const index = (...parts: ReturnType<typeof part>[]) => new Map(parts.map((p) => [p.hosts, p]));
const accept = { return: null };
const log = { log: { prefix: 'x' } };

describe('selector sets split into hosts and prefixes', () => {
  test('members: hosts to the hash part, prefixes (without overlap) to the interval part, wrong family and garbage dropped', () => {
    expect(splitMembers(['198.18.0.2/32', '198.18.0.1/32', '198.18.0.0/16', '198.18.1.0/24', 'fd00::1/128', 'nonsense', '198.18.0.1/32'], 4)).toEqual({
      hosts: ['198.18.0.1/32', '198.18.0.2/32'],
      prefixes: ['198.18.0.0/16'],
    });
    expect(splitMembers(['fd00:0::1/128', 'fd00::/64', '198.18.0.1/32', '010.1.1.1/32'], 6)).toEqual({ hosts: ['fd00::1/128'], prefixes: ['fd00::/64'] });
    const relay = ['198.18.0.1/32', '198.18.0.2/32'];
    expect(splitMembers(relay, 4).hosts).toBe(relay);
    // Host bits set in a prefix: its network, as the interval set needs.
    expect(splitMembers(['198.18.0.5/24'], 4)).toEqual({ hosts: [], prefixes: ['198.18.0.0/24'] });
  });

  test('"in set": one rule per non-empty part; none when both are empty', () => {
    const rule = { expr: [inSet(saddr, 's-a-4'), accept], comment: 'c' };
    expect(expandRule(rule, index(part('s-a', true, true)))).toEqual([
      { expr: [inSet(saddr, 's-a-4'), accept], comment: 'c' },
      { expr: [inSet(saddr, 's-a-4p'), accept], comment: 'c' },
    ]);
    expect(expandRule(rule, index(part('s-a', false, true)))).toEqual([{ expr: [inSet(saddr, 's-a-4p'), accept], comment: 'c' }]);
    expect(expandRule(rule, index(part('s-a', false, false)))).toEqual([]);
  });

  test('a Log rule is split into disjoint copies, so a packet is logged once', () => {
    const rule = { expr: [inSet(saddr, 's-a-4'), log] };
    expect(expandRule(rule, index(part('s-a', true, true)))).toEqual([
      { expr: [inSet(saddr, 's-a-4'), log] },
      { expr: [inSet(saddr, 's-a-4p'), inSet(saddr, 's-a-4', '!='), log] },
    ]);
  });

  test('"not in set": one rule excluding every non-empty part', () => {
    const rule = { expr: [inSet(saddr, 's-a-4', '!='), accept] };
    expect(expandRule(rule, index(part('s-a', true, true)))).toEqual([{ expr: [inSet(saddr, 's-a-4', '!='), inSet(saddr, 's-a-4p', '!='), accept] }]);
    expect(expandRule(rule, index(part('s-a', false, false)))).toEqual([{ expr: [accept] }]);
  });

  test('source and destination sets: every combination of non-empty parts; other sets untouched', () => {
    const rule = { expr: [inSet(saddr, 's-a-4'), inSet(daddr, 's-b-4'), inSet(daddr, 'n-c-4'), accept] };
    const out = expandRule(rule, index(part('s-a', true, true), part('s-b', true, true)));
    expect(out.map((r) => r.expr.map((e) => (e as { match?: { right: string } }).match?.right ?? 'v').join(' '))).toEqual([
      '@s-a-4 @s-b-4 @n-c-4 v',
      '@s-a-4 @s-b-4p @n-c-4 v',
      '@s-a-4p @s-b-4 @n-c-4 v',
      '@s-a-4p @s-b-4p @n-c-4 v',
    ]);
  });
});

describe('isCanonicalV4Host', () => {
  test('exactly canonical a.b.c.d/32', () => {
    for (const ok of ['0.0.0.0/32', '198.18.0.1/32', '255.255.255.255/32', '10.0.10.100/32']) expect(isCanonicalV4Host(ok)).toBe(true);
    for (const bad of ['198.18.0.1', '198.18.0.1/24', '01.2.3.4/32', '256.1.1.1/32', '1.2.3/32', '1.2.3.4.5/32', '1..2.3/32', '.1.2.3/32', '1.2.3.4./32', '1.2.3.4/320', 'a.b.c.d/32', '1.2.3.1000/32', '']) {
      expect(isCanonicalV4Host(bad)).toBe(false);
    }
  });
});
