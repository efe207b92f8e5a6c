/**
 * Per-endpoint chains (felix/rules/endpoints.go), one per stage:
 *
 *   conntrack established/related -> accept         (not in raw: untracked has no conntrack;
 *                                                    pre-DNAT: done by mangle-prerouting itself)
 *   conntrack invalid -> drop                        (tracked chains only, unless the plan's
 *                                                    disableConntrackInvalidCheck)
 *   jump failsafe chain                              (not in forward chains)
 *   clear accept+pass bits
 *   normal chains: jump each staged policy's count-only chain (staged-chains.ts; it only counts
 *                  and returns, so the verdict below is the same with or without it)
 *   for each tier with policies for this direction:
 *     clear pass; for each policy: [pass clear] jump policy; [accept set] return
 *     end of tier: [pass clear] drop                (normal and forward chains, tier default Deny)
 *   normal chains: profiles in order ([accept set] return after each; missing profile = drop)
 *   normal chains: drop                             ("no profile matched")
 */
import type { NftExpr } from '../nft/json-types.ts';
import type { EndpointPlan, TierPlan } from '../plan/schema.ts';
import * as x from './expr.ts';
import { policyChain, profileChain, stagedChain, type Stage } from './naming.ts';

export interface ChainRule { expr: NftExpr[]; comment?: string }

type Kind = 'normal' | 'forward' | 'untracked' | 'preDNAT';

export interface EndpointChainSpec {
  readonly kind: Kind;
  readonly dir: 'in' | 'out';
  readonly tiers: readonly TierPlan[];
  readonly failsafeChain: string | undefined;
}

export function specFor(ep: EndpointPlan, stage: Stage): EndpointChainSpec {
  switch (stage) {
    case 'fh': return { kind: 'normal', dir: 'in', tiers: ep.ingress.normal, failsafeChain: 'failsafe-in' };
    case 'th': return { kind: 'normal', dir: 'out', tiers: ep.egress.normal, failsafeChain: 'failsafe-out' };
    case 'fhfw': return { kind: 'forward', dir: 'in', tiers: ep.ingress.forward, failsafeChain: undefined };
    case 'thfw': return { kind: 'forward', dir: 'out', tiers: ep.egress.forward, failsafeChain: undefined };
    case 'rfh': return { kind: 'untracked', dir: 'in', tiers: ep.ingress.untracked, failsafeChain: 'failsafe-in-raw' };
    case 'rth': return { kind: 'untracked', dir: 'out', tiers: ep.egress.untracked, failsafeChain: 'failsafe-out-raw' };
    case 'mfh': return { kind: 'preDNAT', dir: 'in', tiers: ep.ingress.preDNAT, failsafeChain: 'failsafe-in' };
  }
}

/** Policy key "<tier>/<name>" → policy name. */
const nameOfKey = (key: string): string => key.slice(key.indexOf('/') + 1);

export function endpointChainRules(
  ep: EndpointPlan,
  spec: EndpointChainSpec,
  marks: x.Marks,
  knownProfiles: ReadonlySet<string>,
  dropInvalid = true,
  /** Keys of the plan's staged policies: a key the plan does not carry gets no jump (no such chain; ruleset.ts renders a direction's chain when an endpoint names it there). */
  stagedKeys: ReadonlySet<string> = new Set(),
): ChainRule[] {
  const rules: ChainRule[] = [];
  if (spec.kind === 'normal' || spec.kind === 'forward') rules.push({ expr: [x.ctEstablished, x.counter, x.accept] });
  // Felix drops what conntrack calls INVALID before failsafes can accept it (endpoints.go:
  // appendConntrackRules), e.g. a TCP segment that belongs to no connection it knows.
  if (dropInvalid && spec.kind !== 'untracked') rules.push({ expr: [x.ctInvalid, x.counter, x.drop], comment: 'conntrack invalid: drop' });
  if (spec.failsafeChain) rules.push({ expr: [x.counter, x.jump(spec.failsafeChain)] });
  rules.push({ expr: [x.clearMark(marks.accept | marks.pass)] });
  // New connections only (established and invalid were handled above), failsafes excluded.
  if (spec.kind === 'normal') {
    for (const key of (spec.dir === 'in' ? ep.staged?.ingress : ep.staged?.egress) ?? []) {
      if (stagedKeys.has(key)) rules.push({ expr: [x.jump(stagedChain(spec.dir, nameOfKey(key)))], comment: `staged ${key}` });
    }
  }

  for (const tier of spec.tiers) {
    rules.push({ expr: [x.clearMark(marks.pass)], comment: `tier ${tier.tier}` });
    for (const key of tier.policies) {
      rules.push({ expr: [x.markLacks(marks.pass), x.counter, x.jump(policyChain(spec.dir, nameOfKey(key)))] });
      rules.push({ expr: [x.markHas(marks.accept), x.counter, x.ret], comment: `policy ${key} accepted` });
    }
    if ((spec.kind === 'normal' || spec.kind === 'forward') && tier.defaultAction === 'Deny') {
      rules.push({ expr: [x.markLacks(marks.pass), x.counter, x.drop], comment: `end of tier ${tier.tier}: drop` });
    }
  }

  if (spec.kind === 'normal') {
    for (const profile of ep.profiles) {
      if (!knownProfiles.has(profile)) {
        rules.push({ expr: [x.counter, x.drop], comment: `profile ${profile} does not exist: drop` });
        continue;
      }
      rules.push({ expr: [x.counter, x.jump(profileChain(spec.dir, profile))] });
      rules.push({ expr: [x.markHas(marks.accept), x.counter, x.ret], comment: `profile ${profile} accepted` });
    }
    rules.push({ expr: [x.counter, x.drop], comment: 'no profile matched: drop' });
  }
  return rules;
}

/**
 * True when the endpoint needs this chain. Dispatch sends endpoints that do not to `return`,
 * which is also how a forward direction with no applyOnForward policy gets Felix's
 * "forwarded traffic is allowed by default".
 */
export function stageApplies(spec: EndpointChainSpec): boolean {
  return spec.kind === 'normal' || spec.tiers.length > 0;
}
