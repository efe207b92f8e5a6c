/**
 * `explain`: the fate of one packet under one node plan, with the steps that decided it.
 *
 * It walks the table render/ruleset.ts builds, hook by hook, in the order the kernel runs them,
 * using the renderer's own pieces (specFor, stageApplies, ifnameLiteral) so the two cannot
 * disagree about which chain applies:
 *
 *   in:      raw-prerouting (untracked) -> mangle-prerouting (pre-DNAT) -> filter-input (normal)
 *   out:     raw-output (untracked) -> filter-output (normal)
 *   forward: raw-prerouting -> mangle-prerouting (in-interface) -> filter-forward
 *            (forward ingress of the in-interface's HEP, then forward egress of the out-interface's)
 *
 * Every base chain's policy is accept: a packet is denied only when some rule drops it. An
 * `accept` inside a hook (conntrack established, a failsafe) ends that hook only; the next hook
 * still runs, exactly as in nft. The accept mark carries an untracked or pre-DNAT allow forward.
 */
import type { Dispatch } from '../calc/dispatch.ts';
import { parseIp } from '../net/cidr.ts';
import { dropsConntrackInvalid, governsIpv6, type EndpointPlan, type FailsafePlanRule, type NodePlan, type PlanPolicy } from '../plan/schema.ts';
import { specFor, stageApplies, type EndpointChainSpec } from '../render/endpoint-chains.ts';
import { ifnameLiteral, type Stage } from '../render/naming.ts';
import { ruleMatches, setLookup, inCidrs, type PacketFacts, type SetLookup } from './rule-match.ts';

export type Direction = 'in' | 'out' | 'forward';
export type CtState = 'new' | 'established' | 'invalid';

export interface Packet {
  readonly direction: Direction;
  /** in: the interface it arrives on; out: the one it leaves by; forward: the one it arrives on. */
  readonly iface: string;
  /** forward only: the interface it leaves by. */
  readonly outIface?: string | undefined;
  readonly src: string;
  readonly dst: string;
  /** IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6, ...). */
  readonly protocol: number;
  readonly srcPort?: number | undefined;
  readonly dstPort?: number | undefined;
  readonly icmpType?: number | undefined;
  readonly icmpCode?: number | undefined;
  /** Conntrack's view of the packet; a first packet is `new` (the default). */
  readonly ct?: CtState | undefined;
}

export type StepKind =
  | 'ipv6' | 'conntrack' | 'failsafe' | 'loopback' | 'not-governed' | 'stage' | 'tier' | 'rule'
  | 'log' | 'no-match' | 'pass' | 'tier-end' | 'profile' | 'final-drop' | 'accepted' | 'missing';

export interface Step {
  readonly kind: StepKind;
  readonly text: string;
  /** The stage the step belongs to (untracked, pre-DNAT, normal, forward), when there is one. */
  readonly stage?: string;
  readonly policy?: string;
  readonly rule?: number;
  readonly origin?: string;
}

export interface Explanation {
  readonly verdict: 'allow' | 'deny';
  readonly steps: readonly Step[];
  /** True when untracked policy allowed it: conntrack never sees it, so its replies are not "established". */
  readonly untracked?: boolean;
}

export interface ExplainOptions {
  /** The agent's `loopback` setting (render/ruleset.ts RenderOptions); default exempt. */
  readonly loopback?: 'exempt' | 'policy';
}

const STAGE_LABEL: Record<Stage, string> = {
  rfh: 'untracked ingress', rth: 'untracked egress', mfh: 'pre-DNAT ingress', fh: 'normal ingress', th: 'normal egress',
  fhfw: 'forward ingress', thfw: 'forward egress',
};

type Outcome = 'drop' | 'accept' | 'return';

class Walk {
  readonly steps: Step[] = [];
  accept = false;
  pass = false;
  ct: CtState | 'untracked';
  private readonly endpoints: Map<string, EndpointPlan>;
  private readonly policies: Map<string, PlanPolicy>;
  private readonly profiles: Map<string, PlanPolicy>;
  private readonly governed: Set<string>;
  private readonly sets: SetLookup;
  private readonly ipv6: boolean;
  private readonly dropInvalid: boolean;

  constructor(
    private readonly plan: NodePlan,
    private readonly dispatch: Dispatch,
    private readonly p: PacketFacts,
    ct: CtState,
    private readonly loopback: 'exempt' | 'policy',
  ) {
    this.ct = ct;
    this.endpoints = new Map(plan.endpoints.map((e) => [e.name, e]));
    // Chains are keyed by name and a later one of the same name replaces an earlier (ruleset.ts).
    this.policies = new Map(plan.policies.map((x) => [x.name, x]));
    this.profiles = new Map(plan.profiles.map((x) => [x.name, x]));
    this.governed = new Set(dispatch.byInterface.map(([i]) => i));
    this.sets = setLookup(plan);
    this.ipv6 = governsIpv6(plan);
    this.dropInvalid = dropsConntrackInvalid(plan);
  }

  step(s: Step): void {
    this.steps.push(s);
  }

  /** The dispatch chain d-<stage> for this interface: which endpoint chain, if any, it goes to. */
  target(stage: Stage, iface: string): { ep: EndpointPlan; spec: EndpointChainSpec; how: string } | undefined {
    const label = STAGE_LABEL[stage];
    const untracked = stage === 'rfh' || stage === 'rth';
    const entry = this.dispatch.byInterface.find(([i]) => i === iface);
    if (entry && ifnameLiteral(iface).ok) {
      const ep = this.endpoints.get(entry[1]);
      if (ep) {
        const spec = specFor(ep, stage);
        if (stageApplies(spec)) return { ep, spec, how: `interface ${iface} is governed by HostEndpoint ${ep.name}` };
      }
      if (!untracked && stage !== 'mfh' && this.dispatch.wildcard !== undefined) {
        this.step({ kind: 'not-governed', stage: label, text: `${label}: HostEndpoint ${entry[1]} of ${iface} has no ${label} policy; nothing to check here` });
        return undefined;
      }
    }
    if (!untracked && this.dispatch.wildcard !== undefined) {
      const ep = this.endpoints.get(this.dispatch.wildcard);
      const spec = ep && specFor(ep, stage);
      if (ep && spec && stageApplies(spec)) {
        if (this.loopback === 'exempt' && !this.governed.has('lo') && iface === 'lo') {
          this.step({ kind: 'loopback', stage: label, text: `${label}: lo is exempt from the wildcard HostEndpoint ${ep.name}` });
          return undefined;
        }
        const why = entry ? (stage === 'mfh' ? `its own HostEndpoint ${entry[1]} has no pre-DNAT policy, so ` : `${iface} cannot be named in nft, so `) : '';
        return { ep, spec, how: `${why}interface ${iface} falls to the wildcard HostEndpoint ${ep.name} (interfaceName "*")` };
      }
    }
    if (stage === 'fh' || stage === 'th') {
      this.step({ kind: 'not-governed', stage: label, text: `${label}: no HostEndpoint governs interface ${iface}; outpost does not touch its traffic` });
    } else if (stage === 'fhfw' || stage === 'thfw') {
      this.step({ kind: 'not-governed', stage: label, text: `${label}: no applyOnForward policy applies to ${iface}; forwarded traffic is allowed by default` });
    }
    return undefined;
  }

  private failsafe(rules: readonly FailsafePlanRule[], port: 'srcPort' | 'dstPort', addr: 'src' | 'dst', what: string, label: string): boolean {
    for (const r of rules) {
      if (r.net !== undefined) {
        const net = parseIp(r.net.split('/')[0] ?? '');
        if (!net || net.family !== this.p.family || !inCidrs([r.net], this.p.family, this.p[addr])) continue;
      }
      if (this.p.protocol !== (r.protocol === 'tcp' ? 6 : 17) || this.p[port] !== r.port) continue;
      this.step({ kind: 'failsafe', stage: label, text: `${label}: failsafe ${what} ${r.protocol}:${r.net ? `${r.net}:` : ''}${r.port} accepts` });
      return true;
    }
    return false;
  }

  private failsafeChain(name: string, label: string): boolean {
    const fs = this.plan.failsafes;
    switch (name) {
      case 'failsafe-in': return this.failsafe(fs.inbound, 'dstPort', 'src', 'inbound', label);
      case 'failsafe-out': return this.failsafe(fs.outbound, 'dstPort', 'dst', 'outbound', label);
      case 'failsafe-in-raw': return this.failsafe(fs.inbound, 'dstPort', 'src', 'inbound', label) || this.failsafe(fs.outbound, 'srcPort', 'src', 'outbound reply', label);
      case 'failsafe-out-raw': return this.failsafe(fs.outbound, 'dstPort', 'dst', 'outbound', label) || this.failsafe(fs.inbound, 'srcPort', 'dst', 'inbound reply', label);
      default: return false;
    }
  }

  /** One policy or profile chain: first Allow/Deny/Pass ends it, Log goes on. */
  private runPolicy(what: string, policy: PlanPolicy | undefined, key: string, dir: 'in' | 'out', label: string): 'drop' | 'return' {
    if (!policy) {
      this.step({ kind: 'missing', stage: label, policy: key, text: `${label}: ${what} ${key} is not in the plan; it has no rules` });
      return 'return';
    }
    const rules = dir === 'in' ? policy.ingress : policy.egress;
    const direction = dir === 'in' ? 'ingress' : 'egress';
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (!ruleMatches(r, this.p, this.sets, this.ipv6)) continue;
      const base = { stage: label, policy: key, rule: i, origin: r.origin };
      // The origin names the policy and rule again in the usual case; shown only when it says more.
      const at = `${what} ${key} ${direction} rule ${i}${r.origin.includes(key) ? '' : ` (${r.origin})`}`;
      if (r.action === 'Log') {
        this.step({ kind: 'log', ...base, text: `${label}: ${at}: Log, evaluation continues` });
        continue;
      }
      this.step({ kind: r.action === 'Pass' ? 'pass' : 'rule', ...base, text: `${label}: ${at}: ${r.action}${r.action === 'Pass' ? ' (skips the rest of the tier)' : ''}` });
      if (r.action === 'Deny') return 'drop';
      if (r.action === 'Allow') this.accept = true;
      else this.pass = true;
      return 'return';
    }
    this.step({ kind: 'no-match', stage: label, policy: key, text: `${label}: ${what} ${key}: no ${direction} rule matched` });
    return 'return';
  }

  /** One endpoint chain (render/endpoint-chains.ts endpointChainRules), in its order. */
  endpointChain(ep: EndpointPlan, spec: EndpointChainSpec, stage: Stage, how: string): Outcome {
    const label = STAGE_LABEL[stage];
    this.step({ kind: 'stage', stage: label, text: `${label}: ${how}` });
    const tracked = spec.kind === 'normal' || spec.kind === 'forward';
    if (tracked && this.ct === 'established') {
      this.step({ kind: 'conntrack', stage: label, text: `${label}: conntrack established/related: accepted` });
      return 'accept';
    }
    if (this.dropInvalid && spec.kind !== 'untracked' && this.ct === 'invalid') {
      this.step({ kind: 'conntrack', stage: label, text: `${label}: conntrack invalid: dropped` });
      return 'drop';
    }
    if (spec.failsafeChain && this.failsafeChain(spec.failsafeChain, label)) return 'accept';
    this.accept = false;
    this.pass = false;
    for (const tier of spec.tiers) {
      this.pass = false;
      this.step({ kind: 'tier', stage: label, text: `${label}: tier ${tier.tier} (default action ${tier.defaultAction})` });
      for (const key of tier.policies) {
        if (!this.pass) {
          const name = key.slice(key.indexOf('/') + 1);
          if (this.runPolicy('policy', this.policies.get(name), key, spec.dir, label) === 'drop') return 'drop';
        }
        if (this.accept) {
          this.step({ kind: 'accepted', stage: label, policy: key, text: `${label}: allowed by policy ${key}` });
          return 'return';
        }
      }
      if (tracked && tier.defaultAction === 'Deny' && !this.pass) {
        this.step({ kind: 'tier-end', stage: label, text: `${label}: end of tier ${tier.tier}: no policy allowed or passed it: dropped` });
        return 'drop';
      }
    }
    if (spec.kind !== 'normal') return 'return';
    for (const name of ep.profiles) {
      const profile = this.profiles.get(name);
      if (!profile) {
        this.step({ kind: 'profile', stage: label, text: `${label}: profile ${name} does not exist: dropped` });
        return 'drop';
      }
      if (this.runPolicy('profile', profile, name, spec.dir, label) === 'drop') return 'drop';
      if (this.accept) {
        this.step({ kind: 'profile', stage: label, text: `${label}: allowed by profile ${name}` });
        return 'return';
      }
    }
    this.step({ kind: 'final-drop', stage: label, text: `${label}: no policy or profile allowed it: dropped` });
    return 'drop';
  }

  /** d-<stage> for one interface, then its endpoint chain; undefined when nothing applies. */
  stage(stage: Stage, iface: string): Outcome | undefined {
    const t = this.target(stage, iface);
    return t ? this.endpointChain(t.ep, t.spec, stage, t.how) : undefined;
  }
}

function facts(packet: Packet): PacketFacts | string {
  const s = parseIp(packet.src);
  const d = parseIp(packet.dst);
  if (!s) return `source ${JSON.stringify(packet.src)} is not an IP address`;
  if (!d) return `destination ${JSON.stringify(packet.dst)} is not an IP address`;
  if (s.family !== d.family) return `source ${packet.src} and destination ${packet.dst} are not the same IP version`;
  const icmp = packet.protocol === 1 || packet.protocol === 58;
  return {
    family: s.family, src: s.addr, dst: d.addr, protocol: packet.protocol,
    srcPort: packet.srcPort, dstPort: packet.dstPort,
    // A ping unless told otherwise: echo request, code 0.
    icmpType: icmp ? (packet.icmpType ?? (packet.protocol === 1 ? 8 : 128)) : undefined,
    icmpCode: icmp ? (packet.icmpCode ?? 0) : undefined,
  };
}

export class ExplainError extends Error {
  readonly code = 'EXPLAIN' as const;
}

/** The verdict the rendered table gives `packet`, and why. Throws ExplainError for a packet that cannot exist. */
export function explainPacket(plan: NodePlan, dispatch: Dispatch, packet: Packet, options: ExplainOptions = {}): Explanation {
  const p = facts(packet);
  if (typeof p === 'string') throw new ExplainError(p);
  if (packet.direction === 'forward' && !packet.outIface) throw new ExplainError('a forwarded packet needs the interface it leaves by');
  const w = new Walk(plan, dispatch, p, packet.ct ?? 'new', options.loopback ?? 'exempt');
  const allow = (): Explanation => ({ verdict: 'allow', steps: w.steps, ...(w.ct === 'untracked' ? { untracked: true } : {}) });
  const deny = (): Explanation => ({ verdict: 'deny', steps: w.steps });
  if (p.family === 6 && !governsIpv6(plan)) {
    w.step({ kind: 'ipv6', text: 'ipv6Support is false: IPv6 is not governed, accepted' });
    return allow();
  }
  const inbound = packet.direction !== 'out';

  // raw: untracked policy; an allow sets the accept mark and the packet is not tracked.
  if (w.stage(inbound ? 'rfh' : 'rth', packet.iface) === 'drop') return deny();
  if (w.accept) {
    w.step({ kind: 'accepted', text: 'untracked policy allowed it: not tracked, accepted without further policy' + (packet.direction === 'forward' ? ' (forward egress still applies)' : '') });
    w.ct = 'untracked';
  }

  if (inbound && !w.accept) {
    // mangle-prerouting: established skips pre-DNAT policy; pre-DNAT allow marks the packet.
    if (w.ct === 'established') w.step({ kind: 'conntrack', stage: 'pre-DNAT ingress', text: 'pre-DNAT ingress: conntrack established/related: accepted' });
    else if (w.stage('mfh', packet.iface) === 'drop') return deny();
    else if (w.accept) w.step({ kind: 'accepted', text: 'pre-DNAT policy allowed it' + (packet.direction === 'forward' ? ' (forward egress still applies)' : ': accepted without normal policy') });
  }

  if (packet.direction === 'forward') {
    // filter-forward clears only the pass bit: an untracked or pre-DNAT allow stands in for the
    // in-interface's forward policy; the out-interface's still runs (and clears the mark).
    w.pass = false;
    if (!w.accept) {
      const r = w.stage('fhfw', packet.iface);
      if (r === 'drop') return deny();
      if (r === 'accept') return allow();
    }
    return w.stage('thfw', packet.outIface!) === 'drop' ? deny() : allow();
  }
  if (w.accept) return allow();
  // filter-input / filter-output; a chain that returns without a drop leaves the hook's accept policy.
  w.accept = false;
  w.pass = false;
  return w.stage(inbound ? 'fh' : 'th', packet.iface) === 'drop' ? deny() : allow();
}
