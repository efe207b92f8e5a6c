/**
 * Strings that reach nft mean exactly one thing: interface names never become wildcards or set
 * references, comments and log prefixes fit nft's byte limits, and derived chain/set names stay
 * short and distinct whatever the resource name.
 */
import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { resolveDispatch } from '../../../src/calc/dispatch.ts';
import { renderRuleset } from '../../../src/render/ruleset.ts';
import { comment, endpointChain, ifnameLiteral, logPrefix, policyChain, setName } from '../../../src/render/naming.ts';
import { resources } from '../calc/helpers.ts';

const bytes = (s: string) => new TextEncoder().encode(s).length;

describe('ifnameLiteral', () => {
  test('ordinary names are kept as they are', () => {
    for (const n of ['eth0', 'lo', 'br-1.100', 'e*th', 'a\\b', '$x', '"q"', 'wlé']) expect(ifnameLiteral(n)).toEqual({ ok: true, value: n });
  });
  test('a trailing star is escaped, so `eth*` is the interface literally named so, not a wildcard', () => {
    expect(ifnameLiteral('eth*')).toEqual({ ok: true, value: 'eth\\*' });
    expect(ifnameLiteral('*')).toEqual({ ok: true, value: '\\*' });
  });
  test('names nft cannot spell are refused with a reason, never passed through', () => {
    for (const n of ['@evil', 'a\\*', 'abcdefghijklmn*', '', 'abcdefghijklmnop', 'a\0b']) {
      const r = ifnameLiteral(n);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain('interface name');
    }
  });
});

describe('byte limits', () => {
  test('comments are cut at 127 bytes without splitting a character', () => {
    const c = comment(`policy ${'é'.repeat(200)}`);
    expect(bytes(c)).toBeLessThanOrEqual(127);
    expect(c.endsWith('...')).toBe(true);
    expect(c).not.toContain('\uFFFD');
    expect(comment('short')).toBe('short');
  });
  test('log prefixes fit in 127 bytes', () => {
    expect(bytes(logPrefix('€'.repeat(100)))).toBeLessThanOrEqual(127);
  });
});

describe('derived names', () => {
  test('long and odd names are bounded and never collide with kept names', () => {
    const long = 'a'.repeat(253);
    const long2 = `${'a'.repeat(252)}b`;
    expect(policyChain('in', long).length).toBeLessThanOrEqual(200);
    expect(policyChain('in', long)).not.toBe(policyChain('in', long2));
    expect(endpointChain('fh', 'we ird"')).toMatch(/^fh-we_ird_~[A-Za-z0-9_-]+$/);
    expect(endpointChain('fh', 'we ird"')).not.toBe(endpointChain('fh', 'we_ird_'));
    expect(endpointChain('fh', 'gw-eth1')).toBe('fh-gw-eth1');
    expect(setName('s-abc', 4)).toBe('s-abc-4');
    expect(setName('@x y', 6)).toMatch(/^x-_x_y~[A-Za-z0-9_-]+-6$/);
  });
});

const RES = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: by-ip}
spec: {node: gw, expectedIPs: [198.18.1.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: by-ip2}
spec: {node: gw, expectedIPs: [198.18.2.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: wild}
spec: {node: gw, interfaceName: "*", profiles: [projectcalico-default-allow]}
`;

describe('dispatch by live interface names', () => {
  const { plan } = computeNodePlan({ node: 'gw', resources: resources(RES) });
  const render = () =>
    renderRuleset(plan, resolveDispatch(plan.endpoints, [
      { name: 'eth*', addresses: ['198.18.1.1'] },
      { name: '@evil', addresses: ['198.18.2.1'] },
    ]));
  const dispatchMatches = (doc: ReturnType<typeof render>['document']) =>
    doc.nftables.flatMap((c) => ('add' in c && 'rule' in c.add && c.add.rule.chain === 'd-fh' ? c.add.rule.expr.flatMap((e) => ('match' in e ? [(e.match as { right: unknown }).right] : [])) : []));

  test('a host interface named `eth*` is matched literally (escaped), one named `@evil` is reported, not rendered', () => {
    const r = render();
    const rights = dispatchMatches(r.document);
    expect(rights).toContain('eth\\*');
    expect(rights).not.toContain('eth*');
    expect(rights.some((x) => typeof x === 'string' && x.startsWith('@'))).toBe(false);
    expect(r.unnameable.length).toBe(1);
    expect(r.unnameable[0]).toContain('@evil');
    expect(r.unnameable[0]).toContain('by-ip2');
  });
});
