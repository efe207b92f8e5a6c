// Staged policies render as count-only chains: deterministic, jumped to from the normal endpoint
// chains only, and never a verdict (no accept, drop, jump, goto, mark, log or notrack in them).
import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { resolveDispatch } from '../../../src/calc/dispatch.ts';
import { renderRuleset } from '../../../src/render/ruleset.ts';
import { stagedCounts } from '../../../src/nft/staged-counters.ts';
import type { NftExpr } from '../../../src/nft/json-types.ts';
import { resources } from '../calc/helpers.ts';

const BASE = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: web1-eth0, labels: {role: web}}
spec: {node: web1, interfaceName: eth0, profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: web1-any}
spec: {node: web1, interfaceName: "*", profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: mixed, labels: {zone: office}}
spec: {nets: [198.18.7.0/24, 198.18.9.1/32, fd00:7::/64]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-https}
spec:
  selector: role == 'web'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]
`;

const STAGED = `
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: deny-443}
spec:
  selector: role == 'web'
  ingress:
  - {action: Log, source: {selector: zone == 'office'}}
  - {action: Deny, protocol: TCP, destination: {ports: [443, 8443]}}
  - {action: Allow, source: {nets: [198.18.0.0/16, 198.19.0.0/16]}}
  - {action: Pass, protocol: UDP}
  egress: [{action: Deny, destination: {selector: zone == 'office'}}]
`;

const ifaces = [{ name: 'eth0', addresses: [] }, { name: 'eth1', addresses: [] }];
function render(yaml: string) {
  const { plan } = computeNodePlan({ node: 'web1', resources: resources(yaml) });
  return { plan, result: renderRuleset(plan, resolveDispatch(plan.endpoints, ifaces)) };
}
const chainsOf = (yaml: string) => new Map(render(yaml).result.table.chains.map((c) => [c.name, c.rules]));
const VERDICTS = ['accept', 'drop', 'jump', 'goto', 'mangle', 'log', 'notrack', 'reject', 'queue', 'meta'];

describe('staged policy chains', () => {
  test('same plan, same bytes', () => {
    expect(JSON.stringify(render(BASE + STAGED).result.document)).toBe(JSON.stringify(render(BASE + STAGED).result.document));
  });

  test('count only: every rule counts, ends in return (or falls through for Log), and holds no verdict', () => {
    const chains = chainsOf(BASE + STAGED);
    const staged = [...chains].filter(([n]) => n.startsWith('spi-') || n.startsWith('spo-'));
    expect(staged.map(([n]) => n).sort()).toEqual(['spi-deny-443', 'spo-deny-443']);
    for (const [name, rules] of staged) {
      expect(rules.length).toBeGreaterThan(1);
      for (const r of rules) {
        const json = JSON.parse(JSON.stringify(r.expr)) as NftExpr[];
        const statements = json.filter((e) => !('match' in e));
        for (const s of statements) for (const k of Object.keys(s)) expect(VERDICTS, `${name}: ${JSON.stringify(r)}`).not.toContain(k);
        expect(statements.some((s) => 'counter' in s), `${name}: ${JSON.stringify(r)}`).toBe(true);
        const last = json[json.length - 1]!;
        if (r.comment!.startsWith('would-log:')) expect(last).toEqual({ counter: null });
        else expect(last).toEqual({ return: null });
      }
      expect(rules[rules.length - 1]!).toEqual({ expr: [{ counter: null }, { return: null }], comment: `no-match: staged default/deny-443 ${name.startsWith('spi') ? 'ingress' : 'egress'}` });
    }
  });

  test('comments name the would-be outcome first, then the rule', () => {
    const rules = chainsOf(BASE + STAGED).get('spi-deny-443')!;
    const comments = [...new Set(rules.map((r) => r.comment))];
    expect(comments).toEqual([
      'would-log: staged default/deny-443 ingress[0]',
      'would-deny: staged default/deny-443 ingress[1]',
      'would-allow: staged default/deny-443 ingress[2]',
      'would-pass: staged default/deny-443 ingress[3]',
      'no-match: staged default/deny-443 ingress',
    ]);
  });

  test('a staged Log copy over both parts of a selector set is disjoint (a packet counts once)', () => {
    const logs = chainsOf(BASE + STAGED).get('spi-deny-443')!.filter((r) => r.comment!.startsWith('would-log:') && JSON.stringify(r.expr).includes('"ip"'));
    expect(logs.length).toBe(2);
    const prefixCopy = JSON.stringify(logs.find((r) => JSON.stringify(r.expr).includes('-4p"'))!.expr);
    expect(prefixCopy).toContain('"op":"!="');
  });

  test('normal endpoint chains jump to the staged chain after conntrack and failsafes; no other chain does', () => {
    const chains = chainsOf(BASE + STAGED);
    for (const [name, rules] of chains) {
      const jumps = rules.filter((r) => JSON.stringify(r.expr).includes('"target":"sp'));
      if (name === 'fh-web1-eth0') {
        expect(jumps.map((r) => r.comment)).toEqual(['staged default/deny-443']);
        const at = rules.indexOf(jumps[0]!);
        expect(JSON.stringify(rules.slice(0, at))).toContain('failsafe-in');
        expect(JSON.stringify(rules.slice(0, at))).toContain('established');
        expect(JSON.stringify(rules.slice(0, at))).toContain('invalid');
      } else if (name === 'th-web1-eth0') expect(jumps.map((r) => r.comment)).toEqual(['staged default/deny-443']);
      else expect(jumps, name).toEqual([]);
    }
  });

  test('with the staged jumps left out, every chain is what the table is without staged policies', () => {
    const without = chainsOf(BASE);
    const withStaged = chainsOf(BASE + STAGED);
    for (const [name, rules] of without) {
      const other = withStaged.get(name)!.filter((r) => !r.comment?.startsWith('staged '));
      expect(JSON.stringify(other), name).toBe(JSON.stringify(rules));
    }
    for (const name of withStaged.keys()) if (!without.has(name)) expect(name).toMatch(/^sp[io]-/);
  });

  test('only the directions an endpoint measures get a chain (an Ingress-only staged policy has no spo- chain)', () => {
    const only = `${BASE}---\napiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: in-only}\nspec: {selector: all(), ingress: [{action: Deny}]}\n`;
    const names = [...chainsOf(only).keys()].filter((n) => /^sp[io]-/.test(n));
    expect(names).toEqual(['spi-in-only']);
  });

  test('a plan whose endpoint names a staged key it does not carry renders no jump (no missing chain)', () => {
    const { plan } = render(BASE + STAGED);
    const hostile = { ...plan, endpoints: plan.endpoints.map((e) => ({ ...e, staged: { ingress: ['default/nope'], egress: [] } })) };
    const chains = new Map(renderRuleset(hostile, resolveDispatch(hostile.endpoints, ifaces)).table.chains.map((c) => [c.name, c.rules]));
    expect(JSON.stringify(chains.get('fh-web1-eth0'))).not.toContain('spi-nope');
  });

  test('the counters reader understands what the renderer writes (attribution by chain and comment)', () => {
    const { plan, result } = render(BASE + STAGED);
    // Give each rule a distinct count, as nft -j lists it.
    let n = 0;
    const nftables = result.table.chains.flatMap((c) =>
      c.rules.map((r) => ({ rule: { family: 'inet', table: 'outpost', chain: c.name, handle: ++n, ...(r.comment ? { comment: r.comment } : {}), expr: r.expr.map((e) => ('counter' in e ? { counter: { packets: n, bytes: n * 100 } } : e)) } })),
    );
    const counts = stagedCounts({ nftables: [{ metainfo: { version: '1.0.6' } }, ...nftables] }, plan);
    expect(counts.map((c) => `${c.policy} ${c.key} ${c.direction}`)).toEqual(['deny-443 default/deny-443 ingress', 'deny-443 default/deny-443 egress']);
    const sum = (chain: string, prefix: string) =>
      nftables.filter((i) => i.rule.chain === chain && i.rule.comment?.startsWith(prefix)).reduce((a, i) => a + i.rule.handle, 0);
    const ingress = counts[0]!;
    expect(ingress.wouldDeny.packets).toBe(sum('spi-deny-443', 'would-deny:'));
    expect(ingress.wouldAllow.packets).toBe(sum('spi-deny-443', 'would-allow:'));
    expect(ingress.wouldPass.bytes).toBe(sum('spi-deny-443', 'would-pass:') * 100);
    expect(ingress.wouldLog.packets).toBe(sum('spi-deny-443', 'would-log:'));
    expect(ingress.noMatch.packets).toBe(sum('spi-deny-443', 'no-match:'));
    expect(counts[1]!.wouldAllow).toEqual({ packets: 0, bytes: 0 });
  });
});
