/**
 * Local mode: the agent reads manifests from disk and computes its own plan (no relay).
 * resources → plan → dispatch → render → enforce, re-run whenever a file or the host's
 * interfaces change.
 *
 * Nothing is applied until the resource path has been read once: an agent that cannot read
 * its policy must not replace the ruleset in force with an empty one.
 *
 * A resource that turned invalid keeps its last valid version, also across restarts: the
 * versions are recorded in the state dir's SQLite. Without a usable state dir the agent still
 * runs, remembering only for its own lifetime (logged).
 */
import { FileResourceSource, STABLE_QUIET_MS, type LoadReport } from '../datastore/file-source.ts';
import { openLastGoodMemory } from '../cache/last-good-memory.ts';
import { formatResourceError } from '../model/validate.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import type { Logger } from '../platform/logger.ts';
import type { Enforcer } from './enforcer.ts';
import { buildRuleset, collectStartupGarbage } from './host-ruleset.ts';
import { readHostInterfaces, watchInterfaces, type InterfaceWatch } from './host-interfaces.ts';
import type { RunningAgent } from './agent.ts';
import type { AgentObserver } from './observations.ts';
import { MAX_HELD_BACK_ITEMS } from '../protocol/held-back.ts';
import { noEndpointWarning } from './no-endpoint.ts';

/** The agent's JavaScriptCore JIT threshold (Bun.unsafe.setJITPolicy; agent-command.ts sets it). */
export const AGENT_JIT_POLICY = 1000;
/** The threshold while local mode loads its manifests (see startLocalMode). */
const LOAD_JIT_POLICY = 30;

function reportLoad(log: Logger, r: LoadReport): void {
  if (r.fatal) log.error({ err: r.fatal }, 'cannot read resources; the ruleset in force is kept');
  for (const e of r.errors) log.error({ source: e.source, kind: e.kind, name: e.name, path: e.path }, `invalid resource: ${formatResourceError(e)}`);
  for (const w of r.warnings) log.warn({ source: w.source, kind: w.kind, name: w.name, path: w.path }, formatResourceError(w));
  for (const u of r.unenforced) {
    const what = u.kind === 'file' ? `${u.source} ${u.why ?? 'cannot be read as manifests'} and nothing of it was valid before` : `${u.kind} '${u.name}' (${u.source}) has never been valid`;
    log.error({ source: u.source, kind: u.kind, name: u.name }, `NOT ENFORCED: ${what}; nothing of it is in force until it is fixed${u.kind === 'HostEndpoint' ? ' (its interface is governed as if it did not exist, as Felix would)' : ''}`);
  }
}

export async function startLocalMode(config: AgentConfig & { resources: string[] }, log: Logger, enforcer: Enforcer, opts: { once: boolean; observe: Required<AgentObserver> }): Promise<RunningAgent> {
  const { observe } = opts;
  let heldBackKey = '';
  let status: 'in-sync' | 'error' | undefined;
  let reason: string | undefined;
  let since = new Date();
  const setState = (next: 'in-sync' | 'error', why?: string) => {
    if (next === status && why === reason) return;
    if (next !== status) since = new Date();
    status = next;
    reason = why;
    observe.stateChanged({ state: next, ...(why !== undefined ? { reason: why } : {}), since });
  };
  /** A read that failed while nothing else is wrong; cleared by the next good read. */
  let readProblem: string | undefined;
  let applyProblem: string | undefined;
  const settle = () => {
    const problem = applyProblem ?? readProblem;
    if (problem !== undefined) setState('error', problem);
    else if (enforcer.upToDate) setState('in-sync');
  };
  const report = (r: LoadReport) => {
    reportLoad(log, r);
    readProblem = r.fatal === undefined ? undefined : `cannot read resources: ${r.fatal}`;
    // The source keeps what every file holds back as invalid (a report names only what it re-read).
    const items = source.heldBack();
    const key = JSON.stringify(items);
    if (key === heldBackKey) return;
    heldBackKey = key;
    const at = new Date();
    observe.heldBackChanged({ heldBack: { count: items.length, items: items.slice(0, MAX_HELD_BACK_ITEMS), since: at.toISOString() }, at });
  };
  let applying = false;
  // The enforcer's own retries and repairs (drift, audit) are applies too.
  enforcer.onOutcome((o) => {
    applyProblem = o.ok ? undefined : o.error;
    if (!applying) observe.applied({ source: 'local', why: 'retry', durationMs: o.ms, ok: o.ok, ...(o.ok ? {} : { error: o.error }), at: new Date() });
    settle();
  });
  let lastNoEndpoint: string | undefined;
  const state = openLastGoodMemory(config.state, { error: (m) => log.error(m), warn: (m) => log.warn(m) });
  // A file is loaded once it stopped changing (STABLE_QUIET_MS): never half-written.
  const source = new FileResourceSource(config.resources, state.memory, { quietMs: STABLE_QUIET_MS });
  let lastWarnings = '';
  let ifaces: InterfaceWatch | undefined;

  // Only the counts of the plan leave this function: the enforcer collects before a full write,
  // and the plan (several MiB at 1,000 policies) should be garbage by then.
  const build = () => {
    const { rendered, warnings, plan, dispatch } = buildRuleset(config, source.current(), ifaces?.current ?? readHostInterfaces());
    // Observers summarise the plan now; it is not kept past this call.
    observe.rendered({ plan, dispatch, at: new Date() });
    return { rendered, warnings, counts: { endpoints: plan.endpoints.length, policies: plan.policies.length } };
  };
  const recompute = async (why: string): Promise<boolean> => {
    if (!source.ready) return false;
    const t0 = performance.now();
    const { rendered, warnings, counts } = build();
    const w = warnings.join('\n');
    if (w !== lastWarnings) warnings.forEach((m) => log.warn(m));
    lastWarnings = w;
    const none = counts.endpoints === 0 ? noEndpointWarning(config.node) : undefined;
    if (none !== undefined && none !== lastNoEndpoint) log.warn({ node: config.node }, none);
    lastNoEndpoint = none;
    applying = true;
    let ok: boolean;
    try {
      ok = await enforcer.enforce(rendered);
    } finally {
      applying = false;
    }
    observe.applied({ source: 'local', why, durationMs: performance.now() - t0, ok, ...(ok ? {} : { error: applyProblem ?? 'nft failed' }), at: new Date() });
    if (ok) applyProblem = undefined;
    settle();
    if (ok) log.info({ node: config.node, ...counts }, 'ruleset in force');
    return ok;
  };

  // The SQLite records of this load wait until the first apply is over (holdRecords): written
  // before it they delayed it (30 ms, hundreds on a busy disk), written while nft runs they added
  // 3 MiB to the peak RSS (1,000 x 10 node: 116-117 MiB after the apply, 119-120 during it).
  source.holdRecords();
  // Validating every manifest is the agent's hottest CPU work at start (1,000 x 10 node: 0.45-0.55 s
  // with the agent's JIT policy, 0.28-0.35 s with a low threshold), so the threshold is low while
  // the manifests load and back to the agent's (agent-command.ts) for the rest: the code it
  // compiles costs about 2 MiB, JIT for the render too cost 7-10 MiB of peak RSS.
  Bun.unsafe.setJITPolicy(LOAD_JIT_POLICY);
  let first;
  try {
    first = await source.load();
  } finally {
    Bun.unsafe.setJITPolicy(AGENT_JIT_POLICY);
  }
  // Parsing every manifest leaves tens of MiB of garbage (texts, parsed documents, validation
  // copies): collected before the plan, not only before the render (about 8 MiB less peak).
  collectStartupGarbage();
  report(first);
  if (first.fatal) setState('error', `cannot read resources: ${first.fatal}; nothing was applied by this agent (what is in force is whatever was there before it started)`);
  let recorded = false;
  const recordHeld = () => {
    if (recorded) return;
    recorded = true;
    for (const problem of source.recordHeld()) log.error({ err: problem }, 'cannot record the last valid resources');
  };
  const firstApply = (first.fatal ? Promise.resolve(false) : recompute('files')).finally(recordHeld);
  if (opts.once) {
    // A boot script's exit code covers the read-back check too.
    const checked = firstApply.then(async (ok) => ok && (await enforcer.settled(), enforcer.upToDate));
    return { firstApply: checked, stop: async () => (enforcer.stop(), state.close()) };
  }

  const recomputeLogged = (why: string) =>
    void recompute(why).catch((e: Error) => {
      log.error({ err: e.message }, 'cannot compute the ruleset; the one in force is kept');
      setState('error', `cannot compute the ruleset: ${e.message}`);
    });
  source.watch((r) => {
    report(r);
    if (!r.fatal) recomputeLogged('files');
    else settle();
  });
  ifaces = watchInterfaces(() => recomputeLogged('interfaces'));
  return {
    firstApply,
    stop: async () => {
      source.stop();
      ifaces?.stop();
      enforcer.stop();
      state.close();
    },
  };
}
