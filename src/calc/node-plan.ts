/**
 * Computes a node's plan from the whole set of (valid) resources: its host endpoints, the
 * policies and profiles that apply to them split per stage and direction, every rule selector
 * resolved to addresses, and the failsafes in force. Pure and synchronous; the relay and the
 * agent run the same code.
 *
 * Per HEP and direction:
 *   doNotTrack policy  -> untracked tiers (both directions, tier default Pass)
 *   preDNAT policy     -> pre-DNAT tiers (ingress only, tier default Pass)
 *   other policy       -> normal tiers (tier's own default), and forward tiers too with applyOnForward
 * Tiers appear only when at least one policy in them applies; empty `types` means both
 * directions (Felix's reading of stored data).
 *
 * Review notes:
 * - Input must already be validated (invalid = absent); this module never sees bad data.
 * - Output order is fully determined by the input set, never by input order.
 */
import type { EndpointPlan, NodePlan, PlanPolicy, PlanRule, TierPlan } from '../plan/schema.ts';
import { parseSelector, type Selector } from '../selector/index.ts';
import type { Resource } from '../model/resource.ts';
import type { GlobalNetworkPolicy } from '../model/global-network-policy.ts';
import type { Profile } from '../model/profile.ts';
import type { Rule } from '../model/rule.ts';
import type { HostEndpoint } from '../model/host-endpoint.ts';
import type { FelixConfiguration } from '../model/felix-configuration.ts';
import { buildMembers, endpointLabels } from './members.ts';
import { SetRegistry, memoSetSource, type SetMemo, type SetSource } from './set-registry.ts';
import { compileRule, type CompileContext } from './rule-compiler.ts';
import { compareOrderThenName, compareTiers, tierTable, type TierInfo } from './tier-order.ts';
import { effectiveFailsafes, type LocalFailsafes } from './failsafes.ts';
import { dataplaneSettings } from './dataplane-settings.ts';
import { normaliseHostEndpoint } from './host-endpoints.ts';
import { policySelectorText } from './selector-conversion.ts';
import { compileCached, type CompileCache } from './compile-cache.ts';
import type { StagedGlobalNetworkPolicy } from '../model/staged-global-network-policy.ts';
import { stagedDirections, stagedKey, stagedOf, type StagedLists } from './staged.ts';

export const DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow';
/** One object for every plan that uses it (plans share it; nothing may change it). */
const DEFAULT_ALLOW_PLAN: PlanPolicy = Object.freeze({
  key: `profile/${DEFAULT_ALLOW_PROFILE}`,
  name: DEFAULT_ALLOW_PROFILE,
  ingress: [{ action: 'Allow', src: {}, dst: {}, origin: `profile ${DEFAULT_ALLOW_PROFILE} ingress[0]` }],
  egress: [{ action: 'Allow', src: {}, dst: {}, origin: `profile ${DEFAULT_ALLOW_PROFILE} egress[0]` }],
}) as PlanPolicy;

export interface NodePlanInput {
  readonly node: string;
  readonly resources: readonly Resource[];
  readonly localFailsafes?: LocalFailsafes;
}

export interface NodePlanResult {
  readonly plan: NodePlan;
  /** Things an operator should know (missing profile, ignored combination); never errors. */
  readonly warnings: string[];
}

type Of<K extends Resource['kind']> = Extract<Resource, { kind: K }>;
const byName = <T extends { metadata: { name: string } }>(a: T, b: T): number =>
  a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;

function ofKind<K extends Resource['kind']>(resources: readonly Resource[], kind: K): Of<K>[] {
  return resources.filter((r): r is Of<K> => r.kind === kind).sort(byName);
}

const NO_RULES: readonly Rule[] = [];

/**
 * Everything derived from the resource set alone, shared by every node's plan: parsed
 * selectors, the membership index, tiers, policy order and set contents. The relay computes all
 * nodes from one context per datastore state, so each selector is evaluated once per state, not
 * once per node.
 */
export interface PlanContext {
  readonly heps: readonly HostEndpoint[];
  readonly profiles: ReadonlyMap<string, Profile>;
  readonly sortedPolicies: readonly GlobalNetworkPolicy[];
  /** Measured staged policies in evaluation order (staged.ts). */
  readonly sortedStaged: readonly StagedGlobalNetworkPolicy[];
  readonly tiers: ReadonlyMap<string, TierInfo>;
  readonly members: ReturnType<typeof buildMembers>;
  readonly felixConfigs: readonly FelixConfiguration[];
  readonly parse: (text: string) => { selector: Selector; error?: string };
  readonly setMemo: SetMemo;
}

/**
 * A memoising selector parser; text that does not parse matches nothing and carries its error.
 * With `limit`, the memo starts over once it holds that many texts (a long-lived caller).
 */
export function selectorParser(limit = Infinity): PlanContext['parse'] {
  const parsed = new Map<string, { selector: Selector; error?: string }>();
  return (text: string) => {
    let s = parsed.get(text);
    if (!s) {
      if (parsed.size >= limit) parsed.clear();
      const r = parseSelector(text);
      // Validation rejects bad selectors; if one slips through it must match nothing, never everything.
      s = r.ok ? { selector: r.selector } : { selector: (parseSelector('!all()') as { ok: true; selector: Selector }).selector, error: r.error };
      parsed.set(text, s);
    }
    return s;
  };
}

/** Policies in evaluation order: tier, then order, then name. */
export function sortPolicies(gnps: readonly GlobalNetworkPolicy[], tiers: ReadonlyMap<string, TierInfo>): GlobalNetworkPolicy[] {
  return [...gnps].sort((a, b) => {
    const ta = tiers.get(a.spec.tier ?? 'default') as TierInfo;
    const tb = tiers.get(b.spec.tier ?? 'default') as TierInfo;
    return compareTiers(ta, tb) || compareOrderThenName({ order: a.spec.order, name: a.metadata.name }, { order: b.spec.order, name: b.metadata.name });
  });
}

export function preparePlanContext(resources: readonly Resource[]): PlanContext {
  const heps = ofKind(resources, 'HostEndpoint').map(normaliseHostEndpoint);
  const gnps = ofKind(resources, 'GlobalNetworkPolicy');
  const profiles = new Map<string, Profile>(ofKind(resources, 'Profile').map((p) => [p.metadata.name, p]));
  const tiers = tierTable(ofKind(resources, 'Tier'), gnps.map((p) => p.spec.tier ?? 'default'));
  return {
    heps,
    profiles,
    sortedPolicies: sortPolicies(gnps, tiers),
    sortedStaged: stagedOf(resources),
    tiers,
    members: buildMembers(heps, ofKind(resources, 'GlobalNetworkSet'), profiles, { networkSets: ofKind(resources, 'NetworkSet'), workloadEndpoints: ofKind(resources, 'WorkloadEndpoint') }),
    felixConfigs: ofKind(resources, 'FelixConfiguration'),
    parse: selectorParser(),
    setMemo: new Map(),
  };
}

/**
 * What one node's plan reads, however it is found: the from-scratch context scans every HEP and
 * every policy; the relay's indexes (plan-index.ts) hand over only this node's HEPs and the
 * policies whose selector can match each. Both go through planFromView, so the plan is the same.
 */
export interface PlanView {
  readonly profiles: ReadonlyMap<string, Profile>;
  readonly tiers: ReadonlyMap<string, TierInfo>;
  readonly felixConfigs: readonly FelixConfiguration[];
  readonly parse: PlanContext['parse'];
  readonly sets: SetSource;
  /** The node's HEPs (normalised), sorted by name. */
  localHeps(node: string): readonly HostEndpoint[];
  /**
   * In policy order: every policy whose selector matches this HEP, and may be more (each is
   * evaluated again); every policy whose selector is invalid must be there (its warning).
   */
  candidatePolicies(hep: HostEndpoint): readonly GlobalNetworkPolicy[];
  /** Every measured staged policy in evaluation order (each HEP is matched against all of them). */
  readonly stagedPolicies: readonly StagedGlobalNetworkPolicy[];
  /** Compiled policies and profiles shared between nodes (compile-cache.ts); none from scratch. */
  readonly compiled?: CompileCache;
}

export function contextView(shared: PlanContext): PlanView {
  return {
    profiles: shared.profiles,
    tiers: shared.tiers,
    felixConfigs: shared.felixConfigs,
    parse: shared.parse,
    sets: memoSetSource(shared.members, shared.setMemo),
    localHeps: (node) => shared.heps.filter((h) => h.spec.node === node),
    candidatePolicies: () => shared.sortedPolicies,
    stagedPolicies: shared.sortedStaged,
  };
}

/**
 * From scratch by default; `shared` is the context prepared once for many nodes, or the view of
 * the relay's indexes (then input.resources is not read).
 */
export function computeNodePlan(input: NodePlanInput, shared: PlanContext | PlanView = preparePlanContext(input.resources)): NodePlanResult {
  return planFromView(input, 'localHeps' in shared ? shared : contextView(shared));
}

export function planFromView(input: NodePlanInput, view: PlanView): NodePlanResult {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const { node } = input;
  const { profiles, tiers } = view;

  const warnedSelectors = new Set<string>();
  const selector = (text: string): Selector => {
    const s = view.parse(text);
    if (s.error !== undefined && !warnedSelectors.has(text)) {
      warnedSelectors.add(text);
      warn(`selector ${JSON.stringify(text)} is invalid (${s.error}); it matches nothing`);
    }
    return s.selector;
  };

  const sets = new SetRegistry(view.sets);
  const ctx: CompileContext = { sets, selector, warn };
  for (const t of tiers.values()) if (!t.exists) warn(`tier '${t.name}' is referenced by a policy but does not exist; it sorts last and denies`);

  const usedPolicies = new Map<string, GlobalNetworkPolicy>();
  const usedProfiles = new Set<string>();
  const policyKey = (p: GlobalNetworkPolicy) => `${p.spec.tier ?? 'default'}/${p.metadata.name}`;
  const usedStaged = new Map<string, StagedGlobalNetworkPolicy>();
  const stagedFor = (labels: Parameters<Selector['evaluate']>[0]): StagedLists | undefined => {
    const out: StagedLists = { ingress: [], egress: [] };
    for (const p of view.stagedPolicies) {
      if (!selector(policySelectorText(p.spec)).evaluate(labels)) continue;
      const key = stagedKey(p);
      const d = stagedDirections(p);
      if (d.ingress) out.ingress.push(key);
      if (d.egress) out.egress.push(key);
      if (d.ingress || d.egress) usedStaged.set(key, p);
    }
    return out.ingress.length + out.egress.length > 0 ? out : undefined;
  };

  const local = view.localHeps(node);
  const endpoints: EndpointPlan[] = local.map((hep) => {
    const labels = endpointLabels(hep, profiles);
    const lists = {
      inUntracked: [] as GlobalNetworkPolicy[], inPreDNAT: [] as GlobalNetworkPolicy[], inNormal: [] as GlobalNetworkPolicy[], inForward: [] as GlobalNetworkPolicy[],
      outUntracked: [] as GlobalNetworkPolicy[], outNormal: [] as GlobalNetworkPolicy[], outForward: [] as GlobalNetworkPolicy[],
    };
    for (const p of view.candidatePolicies(hep)) {
      if (!selector(policySelectorText(p.spec)).evaluate(labels)) continue;
      const types = p.spec.types ?? [];
      const ingress = types.length === 0 || types.includes('Ingress');
      const egress = types.length === 0 || types.includes('Egress');
      if (p.spec.doNotTrack) {
        if (hep.spec.interfaceName === '*') {
          warn(`HostEndpoint '${hep.metadata.name}': untracked policy '${p.metadata.name}' ignored on a wildcard host endpoint (as Felix does)`);
          continue;
        }
        if (ingress) lists.inUntracked.push(p);
        if (egress) lists.outUntracked.push(p);
      } else if (p.spec.preDNAT) {
        if (ingress) lists.inPreDNAT.push(p);
      } else {
        if (ingress) lists.inNormal.push(p);
        if (egress) lists.outNormal.push(p);
        if (p.spec.applyOnForward && ingress) lists.inForward.push(p);
        if (p.spec.applyOnForward && egress) lists.outForward.push(p);
      }
    }
    const group = (ps: readonly GlobalNetworkPolicy[], forcePass: boolean): TierPlan[] => {
      const out: TierPlan[] = [];
      for (const p of ps) {
        usedPolicies.set(policyKey(p), p);
        const tierName = p.spec.tier ?? 'default';
        let last = out[out.length - 1];
        if (!last || last.tier !== tierName) {
          const info = tiers.get(tierName) as TierInfo;
          last = { tier: tierName, defaultAction: forcePass ? 'Pass' : info.defaultAction, policies: [] };
          out.push(last);
        }
        last.policies.push(policyKey(p));
      }
      return out;
    };
    for (const name of hep.spec.profiles ?? []) usedProfiles.add(name);
    const staged = stagedFor(labels);
    return {
      name: hep.metadata.name,
      interfaceName: hep.spec.interfaceName ?? '',
      expectedIPs: [...(hep.spec.expectedIPs ?? [])],
      ingress: { untracked: group(lists.inUntracked, true), preDNAT: group(lists.inPreDNAT, true), normal: group(lists.inNormal, false), forward: group(lists.inForward, false) },
      egress: { untracked: group(lists.outUntracked, true), normal: group(lists.outNormal, false), forward: group(lists.outForward, false) },
      profiles: [...(hep.spec.profiles ?? [])],
      // Only when there is something to measure: plans without staged policies stay as they were.
      ...(staged ? { staged } : {}),
    };
  });

  const compileAll = (rules: readonly Rule[], origin: string, c: CompileContext): PlanRule[] =>
    rules.flatMap((r, i) => compileRule(r, `${origin}[${i}]`, c) ?? []);

  const policies: PlanPolicy[] = [...usedPolicies.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, p]) =>
      compileCached(view.compiled, p, ctx, (c) => ({
        key,
        name: p.metadata.name,
        ingress: compileAll(p.spec.ingress ?? NO_RULES, `policy ${key} ingress`, c),
        egress: compileAll(p.spec.egress ?? NO_RULES, `policy ${key} egress`, c),
      })),
    );

  const planProfiles: PlanPolicy[] = [];
  for (const name of [...usedProfiles].sort()) {
    if (name === DEFAULT_ALLOW_PROFILE) {
      planProfiles.push(DEFAULT_ALLOW_PLAN);
      continue;
    }
    const p = profiles.get(name);
    if (!p) {
      warn(`profile '${name}' does not exist; endpoints that list it deny at that point (as Felix does)`);
      continue;
    }
    planProfiles.push(
      compileCached(view.compiled, p, ctx, (c) => ({
        key: `profile/${name}`,
        name,
        ingress: compileAll(p.spec.ingress ?? NO_RULES, `profile ${name} ingress`, c),
        egress: compileAll(p.spec.egress ?? NO_RULES, `profile ${name} egress`, c),
      })),
    );
  }

  const staged: PlanPolicy[] = [...usedStaged.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, p]) =>
      compileCached(view.compiled, p, ctx, (c) => ({
        key,
        name: p.metadata.name,
        ingress: compileAll(p.spec.ingress ?? NO_RULES, `staged ${key} ingress`, c),
        egress: compileAll(p.spec.egress ?? NO_RULES, `staged ${key} egress`, c),
      })),
    );

  const failsafes = effectiveFailsafes(view.felixConfigs, node, input.localFailsafes ?? {}, warn);
  const settings = dataplaneSettings(view.felixConfigs, node);
  return {
    plan: { node, endpoints, policies, profiles: planProfiles, ipSets: sets.ipSets(), portSets: sets.portSets(), failsafes, ...settings, ...(staged.length > 0 ? { staged } : {}) },
    warnings,
  };
}

