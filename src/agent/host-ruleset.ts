/**
 * From a node plan to the ruleset for this host: local failsafes over the plan's, live
 * interface dispatch, render. Shared by local mode (plan computed here) and relay mode (plan
 * received, signed, from the relay).
 */
import { contextView, planFromView, preparePlanContext } from '../calc/node-plan.ts';
import type { CompileCache } from '../calc/compile-cache.ts';
import { resolveDispatch, type Dispatch, type HostInterface } from '../calc/dispatch.ts';
import { withLocalFailsafes, type LocalFailsafes } from '../calc/failsafes.ts';
import { renderRuleset, DEFAULT_RENDER_OPTIONS, type RenderResult } from '../render/ruleset.ts';
import { parseFailsafeString } from '../model/failsafe.ts';
import type { Resource } from '../model/resource.ts';
import type { FailsafePlanRule, NodePlan } from '../plan/schema.ts';
import type { AgentConfig } from '../config/agent-config.ts';

/** The config's failsafe strings were validated by the config schema; parse them into rules. */
export function localFailsafes(config: Pick<AgentConfig, 'failsafeInbound' | 'failsafeOutbound'>): LocalFailsafes {
  const parse = (text: string | undefined) => {
    if (text === undefined) return undefined;
    const r = parseFailsafeString(text);
    return r.ok ? r.rules : undefined;
  };
  return { inbound: parse(config.failsafeInbound), outbound: parse(config.failsafeOutbound) };
}

export interface HostRuleset {
  readonly plan: NodePlan;
  readonly rendered: RenderResult;
  /** Which HEP governs which interface (status shows it). */
  readonly dispatch: Dispatch;
}

let collected = false;

/**
 * Start-up leaves its biggest garbage behind (every manifest parsed, or the snapshot decompressed
 * and decoded): collected once, the plan and render reuse that memory instead of growing the
 * peak past it (1,000 x 10 node: relay mode 139 -> 122 MiB peak). Local mode calls this right
 * after loading its manifests (collecting again before the render measured 6 MiB worse there);
 * otherwise the first render does. Later renders follow small changes and skip it.
 */
export function collectStartupGarbage(): void {
  if (collected) return;
  collected = true;
  Bun.gc(true);
}

/** Renders a plan for this host; `always` failsafes (the broker path) survive any local override. */
export function renderForHost(
  plan: NodePlan,
  config: Pick<AgentConfig, 'failsafeInbound' | 'failsafeOutbound' | 'loopback'>,
  interfaces: readonly HostInterface[],
  always: { outbound?: readonly FailsafePlanRule[] } = {},
): HostRuleset {
  collectStartupGarbage();
  const final: NodePlan = { ...plan, failsafes: withLocalFailsafes(plan.failsafes, localFailsafes(config), always) };
  const dispatch = resolveDispatch(final.endpoints, interfaces);
  return { plan: final, dispatch, rendered: renderRuleset(final, dispatch, { ...DEFAULT_RENDER_OPTIONS, loopback: config.loopback }) };
}

/**
 * Local mode's compiled policies and profiles, by resource object (compile-cache.ts, as the relay
 * shares them between nodes): the folder source hands back the same objects for every file that
 * did not change, so a one-policy edit compiles only the policies of the file it is in (1,000 ×
 * 10 node: the plan ~47 -> ~10 ms). A WeakMap: replaced resources are collected with their entry.
 */
const compiled: CompileCache = new WeakMap();

/** Local mode: compute the plan on this host from resources, then render it. */
export function buildRuleset(config: Pick<AgentConfig, 'node' | 'failsafeInbound' | 'failsafeOutbound' | 'loopback'>, resources: readonly Resource[], interfaces: readonly HostInterface[]) {
  const { plan, warnings } = planFromView({ node: config.node, resources }, { ...contextView(preparePlanContext(resources)), compiled });
  const host = renderForHost(plan, config, interfaces);
  return { ...host, warnings: [...warnings, ...host.rendered.unnameable.map((u) => `interface not governed by name: ${u}`)] };
}
