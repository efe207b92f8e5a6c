/**
 * The agent: one enforcer (nft), fed either by local manifests or by signed snapshots (from a
 * relay over MQTT and/or offline bundles; bundles alone on an air-gapped host).
 */
import { NftRunner } from '../nft/runner.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import type { Logger } from '../platform/logger.ts';
import { loadPublicKeys } from '../platform/signing.ts';
import { UsageError } from '../cli/io.ts';
import { Enforcer } from './enforcer.ts';
import { startDriftWatch } from './drift-watch.ts';
import { lockStateDir } from './state-lock.ts';
import { fanOut, type AgentObserver } from './observations.ts';
import { StatusFile } from './status-file.ts';

export interface AgentOptions {
  /** Apply once and return (boot scripts): no drift watch. */
  readonly once?: boolean;
  /** Told about every apply, refusal, state change, snapshot and held-back change (observations.ts). */
  readonly observers?: readonly AgentObserver[];
}

export interface RunningAgent {
  /** Resolves with true when the first ruleset was applied (or false when that failed or there was none). */
  readonly firstApply: Promise<boolean>;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, log: Logger, opts: AgentOptions = {}): Promise<RunningAgent> {
  // One agent per state dir, before anything is touched; the kernel drops the lock when we die.
  const lock = await lockStateDir(config.state);
  if (!lock.ok && lock.held) throw new UsageError(lock.message);
  if (!lock.ok) log.warn({ state: config.state }, `cannot lock the state dir (${lock.message}); a second agent on it would not be stopped`);
  const enforcer = new Enforcer(new NftRunner(config.state, config.nft, { timeoutMs: config.nftTimeoutMs }), log);
  // The status file (`outpost status` reads it) is one observer among the caller's.
  const statusFile = new StatusFile({ dir: config.state, node: config.node, source: config.resources ? 'local' : config.broker ? 'relay' : 'bundle', log });
  const metrics = await startMetrics(config, log);
  const observe = fanOut([statusFile, ...(metrics?.observers ?? []), ...(opts.observers ?? [])], log);
  let agent: RunningAgent;
  try {
    agent = withDriftRepair(await startMode(config, log, enforcer, opts, observe), config, log, enforcer, opts);
  } catch (e) {
    await metrics?.stop();
    throw e;
  }
  return { ...agent, stop: async () => (await agent.stop(), await observe.stopping(), await metrics?.stop()) };
}

/**
 * /metrics, /livez, /readyz when `metricsListen` is set (off by default). Loaded only then: the
 * metrics library is not part of an agent start without it. A configured address that cannot
 * be bound stops the start (a silently absent endpoint looks like a dead agent).
 */
async function startMetrics(config: AgentConfig, log: Logger): Promise<{ observers: AgentObserver[]; stop: () => Promise<void> } | undefined> {
  if (!config.metricsListen) return undefined;
  const { startAgentEndpoint } = await import('../observe/endpoints.ts');
  const reader = config.metricsPolicyCounters ? (await import('../observe/policy-counters.ts')).policyPacketReader(config.nft) : undefined;
  const ep = await startAgentEndpoint({ listen: config.metricsListen, log, ...(reader ? { policyPackets: () => reader.read() } : {}) });
  if (!ep) return undefined;
  return { observers: [ep.observer, ...(reader ? [reader.observer] : [])], stop: () => ep.stop() };
}

async function startMode(config: AgentConfig, log: Logger, enforcer: Enforcer, opts: AgentOptions, observe: Required<AgentObserver>): Promise<RunningAgent> {
  if (config.resources) return (await import('./local-mode.ts')).startLocalMode({ ...config, resources: config.resources }, log, enforcer, { once: opts.once ?? false, observe });
  // Signed snapshots: from a relay (broker), offline bundles (bundleDir), or both; bundleDir alone is air-gapped.
  if ((!config.broker && !config.bundleDir) || !config.trustKey) throw new UsageError('trustKey and a broker or bundleDir are required in relay mode');
  const keys = await loadPublicKeys(config.trustKey);
  if (!keys.ok) throw new UsageError(keys.message);
  return (await import('./relay-mode.ts')).startRelayMode({ ...config, trustKey: config.trustKey }, log, enforcer, keys.keys, observe);
}

/** A long-running agent restores its table when someone else deletes, flushes or edits it (drift-watch.ts). */
function withDriftRepair(agent: RunningAgent, config: AgentConfig, log: Logger, enforcer: Enforcer, opts: AgentOptions): RunningAgent {
  if (opts.once) return agent;
  const drift = startDriftWatch({ nft: config.nft, target: enforcer, log });
  return { ...agent, stop: async () => (await drift.stop(), await agent.stop()) };
}
