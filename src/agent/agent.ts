/**
 * The agent's main loop for the file datastore: resources → plan → dispatch → render →
 * enforce, re-run whenever a file or the host's interfaces change.
 *
 * Nothing is applied until the resource path has been read once: an agent that cannot read
 * its policy must not replace the ruleset in force with an empty one.
 */
import { computeNodePlan } from '../calc/node-plan.ts';
import { resolveDispatch, type HostInterface } from '../calc/dispatch.ts';
import { renderRuleset, DEFAULT_RENDER_OPTIONS, type RenderResult } from '../render/ruleset.ts';
import { FileResourceSource, type LoadReport } from '../datastore/file-source.ts';
import { formatResourceError } from '../model/validate.ts';
import { parseFailsafeString } from '../model/failsafe.ts';
import { NftRunner } from '../nft/runner.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import type { Logger } from '../platform/logger.ts';
import { Enforcer } from './enforcer.ts';
import { readHostInterfaces } from './host-interfaces.ts';

export interface RunningAgent {
  /** Resolves with true when the first ruleset was applied (or false when that failed). */
  readonly firstApply: Promise<boolean>;
  stop(): Promise<void>;
}

/** The config's failsafe strings were validated by the config schema; parse them into rules. */
function localFailsafes(config: AgentConfig) {
  const parse = (text: string | undefined) => {
    if (text === undefined) return undefined;
    const r = parseFailsafeString(text);
    return r.ok ? r.rules : undefined;
  };
  return { inbound: parse(config.failsafeInbound), outbound: parse(config.failsafeOutbound) };
}

export function buildRuleset(config: AgentConfig, resources: Parameters<typeof computeNodePlan>[0]['resources'], interfaces: readonly HostInterface[]) {
  const { plan, warnings } = computeNodePlan({ node: config.node, resources, localFailsafes: localFailsafes(config) });
  const dispatch = resolveDispatch(plan.endpoints, interfaces);
  const rendered: RenderResult = renderRuleset(plan, dispatch, { ...DEFAULT_RENDER_OPTIONS, loopback: config.loopback });
  return { plan, dispatch, rendered, warnings };
}

function reportLoad(log: Logger, r: LoadReport): void {
  if (r.fatal) log.error({ err: r.fatal }, 'cannot read resources; the ruleset in force is kept');
  for (const e of r.errors) log.error({ source: e.source, kind: e.kind, name: e.name, path: e.path }, `invalid resource: ${formatResourceError(e)}`);
}

export async function startAgent(config: AgentConfig, log: Logger, opts: { once?: boolean } = {}): Promise<RunningAgent> {
  const runner = new NftRunner(config.state, config.nft);
  const enforcer = new Enforcer(runner, log);
  const source = new FileResourceSource(config.resources);
  let lastWarnings = '';
  let interfaces = readHostInterfaces();
  let lastIfaces = JSON.stringify(interfaces);

  const recompute = async (): Promise<boolean> => {
    if (!source.ready) return false;
    const { rendered, warnings, plan } = buildRuleset(config, source.current(), interfaces);
    const w = warnings.join('\n');
    if (w !== lastWarnings) warnings.forEach((m) => log.warn(m));
    lastWarnings = w;
    const ok = await enforcer.enforce(rendered);
    if (ok) log.info({ node: config.node, endpoints: plan.endpoints.length, policies: plan.policies.length }, 'ruleset in force');
    return ok;
  };

  const first = await source.load();
  reportLoad(log, first);
  const firstApply = first.fatal ? Promise.resolve(false) : recompute();
  if (opts.once) {
    return { firstApply, stop: async () => enforcer.stop() };
  }

  source.watch((r) => {
    reportLoad(log, r);
    if (!r.fatal) void recompute();
  });
  // Interfaces come and go (hotplug, DHCP): re-dispatch when they change.
  const ifaceTimer = setInterval(() => {
    interfaces = readHostInterfaces();
    const sig = JSON.stringify(interfaces);
    if (sig !== lastIfaces) {
      lastIfaces = sig;
      void recompute();
    }
  }, 1000);

  return {
    firstApply,
    stop: async () => {
      source.stop();
      clearInterval(ifaceTimer);
      enforcer.stop();
    },
  };
}
