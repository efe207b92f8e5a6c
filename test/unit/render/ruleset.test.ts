import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { resolveDispatch } from '../../../src/calc/dispatch.ts';
import { renderRuleset, DEFAULT_RENDER_OPTIONS } from '../../../src/render/ruleset.ts';
import { resources } from '../calc/helpers.ts';

const RES = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: wild}
spec: {node: gw, interfaceName: "*", profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth1, labels: {role: gw}}
spec: {node: gw, interfaceName: eth1}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked}
spec: {selector: all(), doNotTrack: true, applyOnForward: true, ingress: [{action: Allow, source: {nets: [198.18.0.0/16, 198.18.1.0/24]}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: wide, labels: {kind: wide}}
spec: {nets: [198.18.0.0/16, 198.18.1.0/24]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec: {selector: all(), ingress: [{action: Deny, source: {selector: "kind == 'wide'"}}]}
`;

function render(opts = DEFAULT_RENDER_OPTIONS, ifaces = [{ name: 'eth1', addresses: [] }]) {
  const { plan } = computeNodePlan({ node: 'gw', resources: resources(RES) });
  return renderRuleset(plan, resolveDispatch(plan.endpoints, ifaces), opts);
}

const rulesOf = (doc: ReturnType<typeof render>['document'], chain: string) =>
  doc.nftables.flatMap((c) => ('add' in c && 'rule' in c.add && c.add.rule.chain === chain ? [JSON.stringify(c.add.rule.expr)] : []));

describe('renderRuleset', () => {
  test('same input, same bytes', () => {
    expect(JSON.stringify(render().document)).toBe(JSON.stringify(render().document));
  });

  test('re-creates only the outpost table in one document', () => {
    const cmds = render().document.nftables;
    expect(cmds.slice(0, 3)).toEqual([
      { add: { table: { family: 'inet', name: 'outpost' } } },
      { delete: { table: { family: 'inet', name: 'outpost' } } },
      { add: { table: { family: 'inet', name: 'outpost' } } },
    ]);
    for (const c of cmds) {
      const obj = Object.values(c)[0] as Record<string, { table?: string; name?: string }>;
      const inner = Object.values(obj)[0]!;
      expect(inner.table ?? inner.name).toBe('outpost');
    }
  });

  test('interval sets hold no overlapping members', () => {
    const set = render().document.nftables.flatMap((c) => ('add' in c && 'set' in c.add ? [c.add.set] : [])).find((s) => s.name.endsWith('-4p'))!;
    expect(set.flags).toEqual(['interval']);
    expect(set.elem).toEqual([{ prefix: { addr: '198.18.0.0', len: 16 } }]);
  });

  test('the wildcard HEP is the fallback, lo is exempt by default, untracked policy skips the wildcard', () => {
    const r = render();
    const fh = rulesOf(r.document, 'd-fh');
    expect(fh[0]).toContain('"eth1"');
    expect(fh[0]).toContain('"goto":{"target":"fh-gw-eth1"}');
    expect(fh[1]).toContain('"lo"');
    expect(fh[1]).toContain('"return"');
    expect(fh[2]).toContain('"goto":{"target":"fh-wild"}');
    const raw = rulesOf(r.document, 'd-rfh');
    expect(raw).toHaveLength(1);
    expect(raw[0]).toContain('rfh-gw-eth1');

    const felixLike = render({ ...DEFAULT_RENDER_OPTIONS, loopback: 'policy' });
    expect(rulesOf(felixLike.document, 'd-fh').some((x) => x.includes('"lo"'))).toBe(false);
  });

  test('the expected chain list matches what was rendered (used for read-back)', () => {
    const r = render();
    for (const [chain, n] of r.chains) expect(rulesOf(r.document, chain)).toHaveLength(n);
  });

  test('selector sets: single addresses in a hash set, prefixes in an interval set', () => {
    const sets = render().document.nftables.flatMap((c) => ('add' in c && 'set' in c.add ? [c.add.set] : []));
    const hosts = sets.find((s) => s.name.endsWith('-4') && s.name.startsWith('s-'))!;
    expect(hosts.flags).toBeUndefined();
    expect(hosts.type).toBe('ipv4_addr');
  });

  test('a re-render with one more set member keeps every policy chain (same rules array) and changes only that set', () => {
    const { plan } = computeNodePlan({ node: 'gw', resources: resources(RES) });
    const d = resolveDispatch(plan.endpoints, [{ name: 'eth1', addresses: [] }]);
    // (A first host would turn the hash part non-empty and rightly rewrite the chains that use the set.)
    const withHosts = (...hosts: string[]) => ({ ...plan, ipSets: plan.ipSets.map((s) => ({ ...s, v4: [...s.v4, ...hosts] })) });
    const a = renderRuleset(withHosts('198.19.0.1/32'), d);
    const b = renderRuleset(withHosts('198.19.0.1/32', '198.19.0.2/32'), d);
    const policyChains = (r: typeof a) => r.table.chains.filter((c) => c.name.startsWith('pi-') || c.name.startsWith('po-'));
    expect(policyChains(a).length).toBeGreaterThan(0);
    policyChains(a).forEach((c, i) => expect(policyChains(b)[i]!.rules).toBe(c.rules));
    const changed = b.table.sets.filter((s, i) => JSON.stringify(s.members) !== JSON.stringify(a.table.sets[i]!.members)).map((s) => s.name);
    expect(changed).toEqual([b.table.sets.find((s) => s.kind === 'host' && s.family === 4)!.name]);
  });
});
