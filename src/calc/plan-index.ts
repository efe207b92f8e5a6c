/**
 * Node plans kept up to date across datastore changes: the indexes Felix keeps around its
 * policy calculation (its label index and policy resolver), over the same pure plan code.
 *
 *   HEPs by node                    → a node's endpoints without scanning every HEP
 *   policy selector → HEPs it matches → a policy change reaches only the nodes it selects (before
 *                                       and after); a HEP's labels are matched against every policy
 *                                       (policy-matches.ts, over label-index.ts)
 *   profile → HEPs and members that inherit from it
 *   set index (set-index.ts)        → a member change reaches only the nodes whose sets it changes
 *
 * `update` diffs a new resource list against the last one (by key, then by object identity, then
 * structurally: both datastores keep unchanged resources as the same objects) and returns the
 * nodes the changes can reach; `plan(node)` computes one node through planFromView, the same code
 * the from-scratch computeNodePlan runs, so the bytes are the same (test/unit/relay/differential).
 * What reaches every node recomputes every node: a Tier, FelixConfiguration `default`, a policy
 * whose selector does not parse (its warning is in every plan), a change to the missing tiers.
 * A resource list with two resources under one key (no datastore delivers one) falls back to the
 * from-scratch computation for every node.
 */
import type { Resource } from '../model/resource.ts';
import { resourceKey } from '../model/resource.ts';
import type { GlobalNetworkPolicy } from '../model/global-network-policy.ts';
import type { HostEndpoint } from '../model/host-endpoint.ts';
import type { Profile } from '../model/profile.ts';
import type { Tier } from '../model/tier.ts';
import type { FelixConfiguration } from '../model/felix-configuration.ts';
import type { NetworkSet } from '../model/network-set.ts';
import type { WorkloadEndpoint } from '../model/workload-endpoint.ts';
import { computeNodePlan, preparePlanContext, selectorParser, sortPolicies, type NodePlanResult, type PlanContext, type PlanView } from './node-plan.ts';
import { endpointLabels, globalNetworkSetMember, hepMember, memberParents, networkSetMember, workloadMember, type Member } from './members.ts';
import { normaliseHostEndpoint } from './host-endpoints.ts';
import { tierTable, type TierInfo } from './tier-order.ts';
import { SetIndex, type MemberChange } from './set-index.ts';
import { deepEqual } from './deep-equal.ts';
import type { LocalFailsafes } from './failsafes.ts';
import type { StagedGlobalNetworkPolicy } from '../model/staged-global-network-policy.ts';
import { sortStaged } from './staged.ts';
import { PolicyMatches } from './policy-matches.ts';

export interface PlanUpdate {
  /** Every node with at least one HEP. */
  readonly nodes: ReadonlySet<string>;
  /** Nodes (among `nodes`) whose plan may have changed: recompute these. */
  readonly dirty: ReadonlySet<string>;
  /** The change could reach every node (dirty is then every node). */
  readonly all: boolean;
}

type MemberResource = HostEndpoint | NetworkSet | WorkloadEndpoint;
const byName = (a: { metadata: { name: string } }, b: { metadata: { name: string } }) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
/** Distinct selector texts kept parsed. */
const PARSE_CACHE_LIMIT = 50_000;

export class PlanIndex {
  private byKey = new Map<string, Resource>();
  private readonly heps = new Map<string, HostEndpoint>();
  private readonly hepsByNode = new Map<string, Map<string, HostEndpoint>>();
  private readonly sortedLocal = new Map<string, HostEndpoint[]>();
  private readonly profiles = new Map<string, Profile>();
  private readonly policies = new Map<string, GlobalNetworkPolicy>();
  private readonly tierResources = new Map<string, Tier>();
  /** Staged policies are few and measured on every HEP they select: a change recomputes every node. */
  private readonly stagedResources = new Map<string, StagedGlobalNetworkPolicy>();
  private stagedSorted: StagedGlobalNetworkPolicy[] = [];
  private readonly felix = new Map<string, FelixConfiguration>();
  private felixList: FelixConfiguration[] = [];
  private tiers: Map<string, TierInfo> = tierTable([], []);
  private missingTiers = '';
  private rank = new Map<string, number>();
  /** Profile name → keys of the HEPs, NetworkSets and WEPs that inherit its labels. */
  private readonly children = new Map<string, Set<string>>();
  /** Parsed selectors, started over past a bound (selectors come and go with edits). */
  private readonly parseCache = selectorParser(PARSE_CACHE_LIMIT);
  private readonly matched = new PolicyMatches(this.parseCache);
  private readonly sets = new SetIndex();
  /** Set when the resource list had two resources under one key: everything from scratch. */
  private fallback: { resources: readonly Resource[]; shared?: PlanContext } | undefined;

  /** Sets in use (benchmarks). */
  get setCount(): number {
    return this.sets.size;
  }

  update(resources: readonly Resource[]): PlanUpdate {
    const next = new Map<string, Resource>();
    for (const r of resources) {
      const k = resourceKey(r);
      if (next.has(k)) return this.fallBack(resources);
      next.set(k, r);
    }
    // Back from the fallback: the indexes still hold the state before it, so the diff is right,
    // but every plan handed out meanwhile came from the fallback: all are computed again.
    const wasFallback = this.fallback !== undefined;
    this.fallback = undefined;
    const changed: { key: string; old: Resource | undefined; now: Resource | undefined }[] = [];
    for (const [k, r] of next) {
      const old = this.byKey.get(k);
      if (old !== r && !deepEqual(old, r)) changed.push({ key: k, old, now: r });
    }
    for (const [k, r] of this.byKey) if (!next.has(k)) changed.push({ key: k, old: r, now: undefined });
    // A resource re-read unchanged is kept as the new object (the next state will hold that one);
    // the indexes may still hold the old one, which is equal.
    this.byKey = next;
    const u = this.apply(changed);
    return wasFallback ? { nodes: u.nodes, dirty: u.nodes, all: true } : u;
  }

  /** The node's plan as computeNodePlan computes it from the same resources. */
  plan(node: string, localFailsafes?: LocalFailsafes): NodePlanResult {
    const input = { node, resources: [] as Resource[], ...(localFailsafes ? { localFailsafes } : {}) };
    if (this.fallback) {
      this.fallback.shared ??= preparePlanContext(this.fallback.resources);
      return computeNodePlan({ ...input, resources: this.fallback.resources }, this.fallback.shared);
    }
    this.sets.beginNode(node);
    try {
      return computeNodePlan(input, this.view);
    } finally {
      this.sets.endNode();
    }
  }

  private fallBack(resources: readonly Resource[]): PlanUpdate {
    this.fallback = { resources };
    const nodes = new Set<string>();
    for (const r of resources) if (r.kind === 'HostEndpoint' && r.spec.node) nodes.add(r.spec.node);
    return { nodes, dirty: nodes, all: true };
  }

  private readonly view: PlanView = ((idx: PlanIndex): PlanView => ({
    get profiles() {
      return idx.profiles;
    },
    get tiers() {
      return idx.tiers;
    },
    get felixConfigs() {
      return idx.felixList;
    },
    parse: (text) => idx.parse(text),
    sets: idx.sets,
    localHeps: (node) => {
      let list = idx.sortedLocal.get(node);
      if (!list) {
        list = [...(idx.hepsByNode.get(node)?.values() ?? [])].sort(byName);
        idx.sortedLocal.set(node, list);
      }
      return list;
    },
    get stagedPolicies() {
      return idx.stagedSorted;
    },
    compiled: new WeakMap(),
    candidatePolicies: (hep) => {
      const names = idx.matched.candidates(hep.metadata.name);
      names.sort((a, b) => idx.rank.get(a)! - idx.rank.get(b)!);
      return names.map((n) => idx.policies.get(n)!);
    },
  }))(this);

  private parse(text: string) {
    return this.parseCache(text);
  }

  private apply(changes: readonly { key: string; old: Resource | undefined; now: Resource | undefined }[]): PlanUpdate {
    const dirty = new Set<string>();
    let all = false;
    const memberChanges: MemberChange[] = [];
    /** HEPs whose labels must be matched against every policy again. */
    const relabel = new Set<string>();
    const changedPolicies: string[] = [];
    const changedProfiles = new Set<string>();
    let policiesOrTiers = false;

    for (const { key, old, now } of changes) {
      const r = (now ?? old)!;
      switch (r.kind) {
        case 'Profile':
          if (now) this.profiles.set(r.metadata.name, now as Profile);
          else this.profiles.delete(r.metadata.name);
          changedProfiles.add(r.metadata.name);
          break;
        case 'Tier':
          if (now) this.tierResources.set(r.metadata.name, now as Tier);
          else this.tierResources.delete(r.metadata.name);
          policiesOrTiers = true;
          all = true;
          break;
        case 'FelixConfiguration': {
          if (now) this.felix.set(r.metadata.name, now as FelixConfiguration);
          else this.felix.delete(r.metadata.name);
          this.felixList = [...this.felix.values()].sort(byName);
          const name = r.metadata.name;
          if (name.startsWith('node.')) dirty.add(name.slice('node.'.length));
          else if (name === 'default') all = true;
          break;
        }
        case 'GlobalNetworkPolicy':
          if (now) this.policies.set(r.metadata.name, now as GlobalNetworkPolicy);
          else this.policies.delete(r.metadata.name);
          changedPolicies.push(r.metadata.name);
          policiesOrTiers = true;
          break;
        case 'StagedGlobalNetworkPolicy':
          if (now) this.stagedResources.set(r.metadata.name, now as StagedGlobalNetworkPolicy);
          else this.stagedResources.delete(r.metadata.name);
          policiesOrTiers = true;
          all = true;
          break;
        case 'HostEndpoint': {
          const name = r.metadata.name;
          const before = this.heps.get(name);
          if (before?.spec.node) this.dropLocal(before.spec.node, name);
          if (before) dirty.add(before.spec.node ?? '');
          if (now) {
            const hep = normaliseHostEndpoint(now as HostEndpoint);
            this.heps.set(name, hep);
            if (hep.spec.node) {
              let m = this.hepsByNode.get(hep.spec.node);
              if (!m) this.hepsByNode.set(hep.spec.node, (m = new Map()));
              m.set(name, hep);
              this.sortedLocal.delete(hep.spec.node);
              dirty.add(hep.spec.node);
            }
            relabel.add(name);
          } else {
            this.heps.delete(name);
            this.matched.dropHep(name);
          }
          this.reparent(key, old as MemberResource | undefined, now as MemberResource | undefined);
          memberChanges.push({ key: memberKeyOf(key), member: now ? this.memberOf(this.heps.get(name)!) : undefined });
          break;
        }
        case 'GlobalNetworkSet':
          memberChanges.push({ key: memberKeyOf(key), member: now ? globalNetworkSetMember(now as typeof r) : undefined });
          break;
        case 'NetworkSet':
        case 'WorkloadEndpoint':
          this.reparent(key, old as MemberResource | undefined, now as MemberResource | undefined);
          memberChanges.push({ key: memberKeyOf(key), member: now ? this.memberOf(now as MemberResource) : undefined });
          break;
        default:
          // Kinds the plan does not read.
          break;
      }
    }

    // A profile's labels reach the HEPs and members that inherit them; its rules and existence
    // reach the nodes whose HEPs list it.
    for (const p of changedProfiles) {
      for (const key of this.children.get(p) ?? []) {
        const r = this.byKey.get(key) as MemberResource | undefined;
        if (!r) continue;
        if (r.kind === 'HostEndpoint') {
          const hep = this.heps.get(r.metadata.name)!;
          relabel.add(hep.metadata.name);
          if (hep.spec.node) dirty.add(hep.spec.node);
          memberChanges.push({ key: memberKeyOf(key), member: this.memberOf(hep) });
        } else memberChanges.push({ key: memberKeyOf(key), member: this.memberOf(r) });
      }
    }

    if (policiesOrTiers) {
      // In the reference's order (tiers and policies by name): the missing tiers' warnings follow it.
      const policies = [...this.policies.values()].sort(byName);
      const tiers = tierTable([...this.tierResources.values()].sort(byName), policies.map((p) => p.spec.tier ?? 'default'));
      const missing = [...tiers.values()].filter((t) => !t.exists).map((t) => t.name).join('\n');
      if (missing !== this.missingTiers) all = true;
      this.missingTiers = missing;
      this.tiers = tiers;
      this.rank = new Map(sortPolicies(policies, tiers).map((p, i) => [p.metadata.name, i]));
      this.stagedSorted = sortStaged([...this.tierResources.values()], [...this.stagedResources.values()]);
    }

    for (const h of relabel) {
      const hep = this.heps.get(h);
      if (hep) this.matched.setLabels(h, endpointLabels(hep, this.profiles));
    }

    const reached = (h: string) => {
      const node = this.heps.get(h)?.spec.node;
      if (node) dirty.add(node);
    };
    for (const name of changedPolicies) if (this.matched.policyChanged(name, this.policies.get(name), reached)) all = true;

    for (const h of relabel) this.matched.rematch(h);

    for (const n of this.sets.applyMemberChanges(memberChanges)) dirty.add(n);

    const nodes = new Set(this.hepsByNode.keys());
    for (const n of dirty) if (!nodes.has(n)) this.sets.release(n);
    if (all) return { nodes, dirty: nodes, all: true };
    const reach = new Set<string>();
    for (const n of dirty) if (nodes.has(n)) reach.add(n);
    return { nodes, dirty: reach, all: false };
  }

  private dropLocal(node: string, name: string): void {
    const m = this.hepsByNode.get(node);
    if (!m) return;
    m.delete(name);
    if (m.size === 0) this.hepsByNode.delete(node);
    this.sortedLocal.delete(node);
  }

  private memberOf(r: MemberResource): Member {
    if (r.kind === 'HostEndpoint') return hepMember(r, this.profiles);
    if (r.kind === 'NetworkSet') return networkSetMember(r, this.profiles);
    return workloadMember(r, this.profiles);
  }

  /** Keeps `children` (profile → inheriting resources) in step with a member resource's parents. */
  private reparent(key: string, old: MemberResource | undefined, now: MemberResource | undefined): void {
    for (const p of old ? memberParents(old) : []) this.children.get(p)?.delete(key);
    for (const p of now ? memberParents(now) : []) {
      let s = this.children.get(p);
      if (!s) this.children.set(p, (s = new Set()));
      s.add(key);
    }
  }
}

/** Members are told apart in the set index by their resource key. */
const memberKeyOf = (resourceKey: string): string => resourceKey;
