/**
 * NodePlan + interface dispatch → the desired `inet outpost` table (table-model.ts): sets with
 * their members, chains with their rules. From it come the full re-create document (add table;
 * delete table; add table; everything, one transaction: nft commits all of it or none of it,
 * packets never see a half-built table) and, in the table writer, the smallest change from
 * the table in force. Deterministic: the same plan and dispatch give the same table and bytes.
 *
 * Selector sets are two nft sets per family: single addresses (/32, /128) in a hash set
 * `<id>-<f>`, wider prefixes in an interval set `<id>-<f>p`, because nft 1.0.6 fetches a whole
 * interval set to change one element while a hash set change is O(1). A rule that matches a
 * selector set is rendered once per NON-EMPTY part (set-split.ts): Allow/Deny/Pass end the
 * policy chain on their first match, so the copies act once; a Log copy for the prefixes also
 * requires "not in the addresses" so a packet is logged once; counters split across copies.
 * `not in set` is one rule with a `!=` match per non-empty part. A membership change is then
 * element add/delete only, unless a part turns empty or non-empty (then the chains that
 * reference the set are rewritten too). Named-port sets stay one concatenation set (no
 * intervals). Policy and profile chains are remembered by content between renders
 * (chain-cache.ts), so a one-member change does not render every rule again.
 *
 * Hook layout (Felix's stages, felix/rules/static.go and endpoints.go):
 *   raw-prerouting  -300  clear marks; untracked ingress (interface-specific HEPs); accepted -> notrack
 *   raw-output      -300  clear marks; untracked egress; accepted -> notrack
 *   mangle-prerouting -150 established -> accept; pre-DNAT ingress (an interface whose own HEP
 *                         has no pre-DNAT policy falls back to the wildcard's, as in Felix)
 *   filter-input       0  raw/pre-DNAT accepted -> accept; HEP ingress chains
 *   filter-output      0  raw accepted -> accept; HEP egress chains
 *   filter-forward     0  applyOnForward: ingress of the in-interface's HEP, egress of the out one's
 * Base chains keep policy accept: outpost only ever drops, it never claims traffic it does not govern.
 * With the plan's ipv6Support false, every base chain accepts IPv6 first and no IPv6 rule or set
 * is rendered (Felix then programs no IPv6 dataplane at all).
 */
import type { NftDocument, NftExpr } from '../nft/json-types.ts';
import { dropsConntrackInvalid, governsIpv6, type EndpointPlan, type FailsafePlanRule, type NodePlan, type PlanPolicy } from '../plan/schema.ts';
import type { Dispatch } from '../calc/dispatch.ts';
import { familyOf } from '../net/cidr.ts';
import * as x from './expr.ts';
import { ifnameLiteral, dispatchChain, endpointChain, policyChain, prefixSetName, profileChain, setName, stagedChain, type Stage } from './naming.ts';
import { stagedChainRules } from './staged-chains.ts';
import { endpointChainRules, specFor, stageApplies, type ChainRule } from './endpoint-chains.ts';
import { renderRule } from './rule.ts';
import { expectedShape, fullDocument, portMember, type DesiredTable, type TableChain, type TableRule, type TableSet } from './table-model.ts';
import { sortedUnique, splitMembers } from './set-members.ts';
import type { SplitSet } from './set-split.ts';
import { ChainCache } from './chain-cache.ts';

export interface RenderOptions {
  readonly marks: x.Marks;
  /**
   * Felix sends `lo` to the wildcard HEP like any interface. outpost exempts it by default so a
   * `*` HEP cannot break local services; 'policy' restores Felix's behaviour. A HEP that names
   * `lo` explicitly always governs it.
   */
  readonly loopback: 'exempt' | 'policy';
}

export const DEFAULT_RENDER_OPTIONS: RenderOptions = { marks: { accept: 0x10000, pass: 0x20000 }, loopback: 'exempt' };

const cache = new ChainCache();
const expandCached = (rules: readonly TableRule[], split: ReadonlyMap<string, SplitSet>) => cache.expand(rules, split);
const BASE_CHAINS = [
  { name: 'raw-prerouting', hook: 'prerouting', prio: -300 },
  { name: 'raw-output', hook: 'output', prio: -300 },
  { name: 'mangle-prerouting', hook: 'prerouting', prio: -150 },
  { name: 'filter-input', hook: 'input', prio: 0 },
  { name: 'filter-output', hook: 'output', prio: 0 },
  { name: 'filter-forward', hook: 'forward', prio: 0 },
] as const;

const STAGES: readonly Stage[] = ['rfh', 'rth', 'mfh', 'fh', 'th', 'fhfw', 'thfw'];
const ingressStage = (s: Stage): boolean => s === 'fh' || s === 'fhfw' || s === 'rfh' || s === 'mfh';

function failsafeRules(rules: readonly FailsafePlanRule[], port: 'sport' | 'dport', addr: 'saddr' | 'daddr', what: string): ChainRule[] {
  return rules.map((r) => {
    const expr: NftExpr[] = [];
    const f = r.net === undefined ? undefined : familyOf(r.net);
    if (r.net !== undefined && f) expr.push(x.nfproto(f), x.netsMatch(f, addr, [r.net]));
    expr.push(x.l4proto(r.protocol === 'tcp' ? 6 : 17), x.portsMatch(port, [[r.port, r.port]]), x.counter, x.accept);
    return { expr, comment: `failsafe ${what} ${r.protocol}:${r.net ? `${r.net}:` : ''}${r.port}` };
  });
}

const NO_RULES: readonly TableRule[] = Object.freeze([]);

/**
 * Plan rules rendered during one render, by content: policies written from a template differ in
 * a port or a set and repeat the rest (the 1,000 x 10 benchmark node has 3,131 distinct rules in
 * 10,000), and the marks and IPv6 choice are fixed for a render. The origin (the rule's comment)
 * only enters the rendering as a Log rule's prefix, so it is in the key for Log rules only.
 * Identical rules share their expression arrays, which nothing edits (see expr.ts).
 */
type RuleMemo = Map<string, NftExpr[][]>;

function policyRules(p: PlanPolicy, dir: 'in' | 'out', marks: x.Marks, ipv6: boolean, memo: RuleMemo): readonly TableRule[] {
  const rules = dir === 'in' ? p.ingress : p.egress;
  if (!rules.length) return NO_RULES;
  // Each rule's JSON without its origin keys the memo; with the origins (self-delimiting JSON
  // strings) it is hashed into the chain cache's key, a SHA-256 rather than the JSON itself:
  // the cache keeps a key per policy and direction for the agent's life (at 1,000 policies the
  // JSON is several MiB).
  const contents: string[] = [];
  const hash = new Bun.CryptoHasher('sha256');
  for (const r of rules) {
    const { origin, ...content } = r;
    const json = JSON.stringify(content);
    contents.push(json);
    hash.update(JSON.stringify(origin));
    hash.update(json);
  }
  return cache.rules(`${dir}|${ipv6 ? 6 : 4}|${marks.accept}|${marks.pass}|${hash.digest('hex')}`, () => {
    const out: TableRule[] = [];
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const key = r.action === 'Log' ? `${JSON.stringify(r.origin)}${contents[i]}` : contents[i]!;
      let exprs = memo.get(key);
      if (exprs === undefined) {
        exprs = renderRule(r, marks, `outpost ${r.origin}: `, ipv6);
        memo.set(key, exprs);
      }
      for (const expr of exprs) out.push({ expr, comment: r.origin });
    }
    return out;
  });
}

export interface RenderResult {
  /** What the table should hold; the table writer diffs it against the table in force. */
  readonly table: DesiredTable;
  /** The full re-create document (built on first use). */
  readonly document: NftDocument;
  /** Chain name → rule count, for read-back verification. */
  readonly chains: ReadonlyMap<string, number>;
  readonly sets: readonly string[];
  /** Set name → member count, for read-back verification. */
  readonly setSizes: ReadonlyMap<string, number>;
  /**
   * Host interfaces that no nft string can name exactly (see ifnameLiteral), with why: they get
   * no dispatch rule of their own (never a wildcard, never a failed apply), so the wildcard HEP,
   * if any, governs them. The caller logs these.
   */
  readonly unnameable: readonly string[];
}

export function renderRuleset(plan: NodePlan, dispatch: Dispatch, opts: RenderOptions = DEFAULT_RENDER_OPTIONS): RenderResult {
  const { marks } = opts;
  const chains = new Map<string, readonly TableRule[]>();
  const endpoints = new Map<string, EndpointPlan>(plan.endpoints.map((e) => [e.name, e]));
  const knownProfiles = new Set(plan.profiles.map((p) => p.name));
  const ipv6 = governsIpv6(plan);
  const dropInvalid = dropsConntrackInvalid(plan);
  const unnameable = new Set<string>();

  // Failsafe chains. The raw variants also let replies to the other direction's failsafe
  // traffic through, because raw runs before conntrack can recognise them.
  const fs = plan.failsafes;
  chains.set('failsafe-in', failsafeRules(fs.inbound, 'dport', 'saddr', 'inbound'));
  chains.set('failsafe-out', failsafeRules(fs.outbound, 'dport', 'daddr', 'outbound'));
  chains.set('failsafe-in-raw', [...failsafeRules(fs.inbound, 'dport', 'saddr', 'inbound'), ...failsafeRules(fs.outbound, 'sport', 'saddr', 'outbound reply')]);
  chains.set('failsafe-out-raw', [...failsafeRules(fs.outbound, 'dport', 'daddr', 'outbound'), ...failsafeRules(fs.inbound, 'sport', 'daddr', 'inbound reply')]);

  const memo: RuleMemo = new Map();
  for (const p of plan.policies) {
    chains.set(policyChain('in', p.name), policyRules(p, 'in', marks, ipv6, memo));
    chains.set(policyChain('out', p.name), policyRules(p, 'out', marks, ipv6, memo));
  }
  for (const p of plan.profiles) {
    chains.set(profileChain('in', p.name), policyRules(p, 'in', marks, ipv6, memo));
    chains.set(profileChain('out', p.name), policyRules(p, 'out', marks, ipv6, memo));
  }

  // Staged policies: count-only chains, jumped to from the normal endpoint chains.
  // Only the directions some endpoint measures: a chain nothing jumps to would count nothing.
  const stagedKeys = new Set<string>();
  const measuredIn = new Set(plan.endpoints.flatMap((e) => e.staged?.ingress ?? []));
  const measuredOut = new Set(plan.endpoints.flatMap((e) => e.staged?.egress ?? []));
  for (const p of plan.staged ?? []) {
    stagedKeys.add(p.key);
    // Remembered by content like policy chains: an unchanged staged chain comes back as the same
    // array, is not rewritten, and so keeps its counters across applies.
    const digest = new Bun.CryptoHasher('sha256').update(JSON.stringify(p)).digest('hex');
    if (measuredIn.has(p.key)) chains.set(stagedChain('in', p.name), cache.rules(`staged|in|${ipv6 ? 6 : 4}|${digest}`, () => stagedChainRules(p, 'in', ipv6)));
    if (measuredOut.has(p.key)) chains.set(stagedChain('out', p.name), cache.rules(`staged|out|${ipv6 ? 6 : 4}|${digest}`, () => stagedChainRules(p, 'out', ipv6)));
  }

  // Dispatch: interface → endpoint chain, with the wildcard HEP as the fallback.
  for (const stage of STAGES) {
    const dispatchRules: ChainRule[] = [];
    const dirKey = ingressStage(stage) ? 'iifname' : 'oifname';
    const untracked = stage === 'rfh' || stage === 'rth';
    const governed = new Set<string>();
    const target = (epName: string): string | undefined => {
      const ep = endpoints.get(epName);
      if (!ep) return undefined;
      const spec = specFor(ep, stage);
      if (!stageApplies(spec)) return undefined;
      const name = endpointChain(stage, ep.name);
      if (!chains.has(name)) chains.set(name, endpointChainRules(ep, spec, marks, knownProfiles, dropInvalid, stagedKeys));
      return name;
    };
    for (const [iface, epName] of dispatch.byInterface) {
      governed.add(iface);
      const literal = ifnameLiteral(iface);
      if (!literal.ok) {
        unnameable.add(`${literal.reason}; HostEndpoint ${epName} cannot govern it by name`);
        continue;
      }
      const t = target(epName);
      if (t) dispatchRules.push({ expr: [x.ifname(dirKey, literal.value), x.counter, x.goto(t)], comment: `${iface} -> ${epName}` });
      // Felix's pre-DNAT dispatch lists only interfaces whose own HEP has pre-DNAT policy; every
      // other interface falls through to the wildcard's pre-DNAT chain (endpoint_mgr.go).
      else if (!untracked && stage !== 'mfh' && dispatch.wildcard !== undefined) dispatchRules.push({ expr: [x.ifname(dirKey, literal.value), x.ret] });
    }
    // Felix does not apply untracked policy to the wildcard HEP.
    if (dispatch.wildcard !== undefined && !untracked) {
      const t = target(dispatch.wildcard);
      if (t) {
        if (opts.loopback === 'exempt' && !governed.has('lo')) dispatchRules.push({ expr: [x.ifname(dirKey, 'lo'), x.ret], comment: 'loopback is exempt from the wildcard host endpoint' });
        dispatchRules.push({ expr: [x.counter, x.goto(t)], comment: `* -> ${dispatch.wildcard}` });
      }
    }
    chains.set(dispatchChain(stage), dispatchRules);
  }

  const a = marks.accept;
  const base: Record<(typeof BASE_CHAINS)[number]['name'], ChainRule[]> = {
    'raw-prerouting': [
      { expr: [x.clearMark(a | marks.pass)] },
      { expr: [x.jump(dispatchChain('rfh'))] },
      { expr: [x.markHas(a), x.counter, x.notrack, x.accept], comment: 'untracked policy allowed' },
    ],
    'raw-output': [
      { expr: [x.clearMark(a | marks.pass)] },
      { expr: [x.jump(dispatchChain('rth'))] },
      { expr: [x.markHas(a), x.counter, x.notrack, x.accept], comment: 'untracked policy allowed' },
    ],
    'mangle-prerouting': [
      { expr: [x.ctEstablished, x.counter, x.accept] },
      { expr: [x.markHas(a), x.counter, x.accept], comment: 'untracked policy allowed' },
      { expr: [x.jump(dispatchChain('mfh'))] },
      { expr: [x.markHas(a), x.counter, x.accept], comment: 'pre-DNAT policy allowed' },
    ],
    'filter-input': [
      { expr: [x.markHas(a), x.counter, x.accept], comment: 'untracked or pre-DNAT policy allowed' },
      { expr: [x.clearMark(a | marks.pass)] },
      { expr: [x.jump(dispatchChain('fh'))] },
      { expr: [x.markHas(a), x.counter, x.accept], comment: 'host endpoint ingress allowed' },
    ],
    'filter-output': [
      { expr: [x.markHas(a), x.counter, x.accept], comment: 'untracked policy allowed' },
      { expr: [x.clearMark(a | marks.pass)] },
      { expr: [x.jump(dispatchChain('th'))] },
      { expr: [x.markHas(a), x.counter, x.accept], comment: 'host endpoint egress allowed' },
    ],
    'filter-forward': [
      { expr: [x.clearMark(marks.pass)] },
      // Untracked or pre-DNAT allow already stood in for the in-interface's policy.
      { expr: [x.markLacks(a), x.jump(dispatchChain('fhfw'))] },
      { expr: [x.jump(dispatchChain('thfw'))] },
      { expr: [x.markHas(a), x.counter, x.accept], comment: 'forward policy allowed' },
    ],
  };

  if (!ipv6) {
    for (const rules of Object.values(base)) rules.unshift({ expr: [x.nfproto(6), x.accept], comment: 'ipv6Support is false: IPv6 is not governed' });
  }

  const sets: TableSet[] = [];
  const split = new Map<string, SplitSet>();
  const families = ipv6 ? ([4, 6] as const) : ([4] as const);
  for (const s of plan.ipSets) {
    for (const f of families) {
      const { hosts, prefixes } = splitMembers(f === 4 ? s.v4 : s.v6, f);
      const part = { hosts: setName(s.id, f), prefixes: prefixSetName(s.id, f), hasHosts: hosts.length > 0, hasPrefixes: prefixes.length > 0 };
      split.set(part.hosts, part);
      sets.push({ name: part.hosts, kind: 'host', family: f, members: hosts }, { name: part.prefixes, kind: 'prefix', family: f, members: prefixes });
    }
  }
  for (const s of plan.portSets) {
    for (const f of families) {
      const members = (f === 4 ? s.v4 : s.v6).map(([ip, proto, port]) => portMember(ip, proto, port));
      sets.push({ name: setName(s.id, f), kind: 'port', family: f, members: sortedUnique(members) });
    }
  }

  const tableChains: TableChain[] = BASE_CHAINS.map((b) => ({ name: b.name, base: { hook: b.hook, prio: b.prio }, rules: base[b.name] }));
  for (const name of [...chains.keys()].sort()) tableChains.push({ name, rules: expandCached(chains.get(name) ?? [], split) });
  cache.sweep();
  return resultOf({ sets, chains: tableChains }, [...unnameable].sort());
}

/** A RenderResult whose full document is built only when someone asks for it. */
export function resultOf(table: DesiredTable, unnameable: readonly string[] = []): RenderResult {
  const shape = expectedShape(table);
  let doc: NftDocument | undefined;
  return {
    table,
    get document() {
      return (doc ??= fullDocument(table));
    },
    chains: shape.chains,
    sets: shape.sets,
    setSizes: shape.setSizes,
    unnameable,
  };
}
