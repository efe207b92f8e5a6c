/**
 * The agent: one enforcer (nft), fed either by local manifests or by signed relay snapshots.
 */
import { NftRunner } from '../nft/runner.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import type { Logger } from '../platform/logger.ts';
import { loadPublicKey } from '../platform/signing.ts';
import { UsageError } from '../cli/io.ts';
import { Enforcer } from './enforcer.ts';

export interface RunningAgent {
  /** Resolves with true when the first ruleset was applied (or false when that failed or there was none). */
  readonly firstApply: Promise<boolean>;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, log: Logger, opts: { once?: boolean } = {}): Promise<RunningAgent> {
  const enforcer = new Enforcer(new NftRunner(config.state, config.nft), log);
  if (config.resources) return (await import('./local-mode.ts')).startLocalMode({ ...config, resources: config.resources }, log, enforcer, { once: opts.once ?? false });
  if (!config.broker || !config.trustKey) throw new UsageError('broker and trustKey are required in relay mode');
  const key = await loadPublicKey(config.trustKey);
  if (!key.ok) throw new UsageError(key.message);
  return (await import('./relay-mode.ts')).startRelayMode({ ...config, broker: config.broker, trustKey: config.trustKey }, log, enforcer, key.key);
}
