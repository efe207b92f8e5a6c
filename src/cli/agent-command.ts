/**
 * `outpost agent`: enforce the node's policy and keep it enforced as resources, snapshots and
 * interfaces change. `--once` (local mode): apply, verify and exit (0 on success), for boot scripts.
 * `--check-config`: validate the configuration (and the trust key) and exit 0, or 2 naming the
 * problem, without touching nftables: init scripts run it before starting a supervised agent.
 */
import { hostname } from 'node:os';
import { AGENT_SETTINGS, AgentConfigSchema } from '../config/agent-config.ts';
import { loadCommandConfig } from '../config/settings.ts';
import { createLogger } from '../platform/logger.ts';
import type { CliIO } from './io.ts';
import { UsageError } from './io.ts';
import { untilSignal } from './signals.ts';
import { loadPublicKeys } from '../platform/signing.ts';
import { pathProblems } from '../config/path-checks.ts';

export const DEFAULT_AGENT_CONFIG = '/etc/outpost/agent.yaml';

type ExtraFlags = NonNullable<Parameters<typeof loadCommandConfig>[0]['extra']>;

/** The agent's configuration (file, environment, flags), for the agent and the commands that act for it. */
export function loadAgentConfig(args: string[], io: CliIO, extra: ExtraFlags) {
  return loadCommandConfig({ args, io, table: AGENT_SETTINGS, schema: AgentConfigSchema, defaultConfigFile: DEFAULT_AGENT_CONFIG, defaults: { node: hostname() }, extra, what: 'agent' });
}

export async function agentCommand(args: string[], io: CliIO): Promise<number> {
  const { config, extra } = await loadAgentConfig(args, io, { once: { type: 'boolean' }, 'check-config': { type: 'boolean' } });
  if (extra['check-config'] === true) return checkConfig(config, io);
  // The agent spends its life idle, and its per-change work is small next to nft's: JIT-compiled
  // code (about 9 MiB resident, docs/benchmarks.md "Idle memory") is not worth keeping. The
  // relay, whose per-change computation is hot, keeps the normal policy. With the yaml
  // package's parser it made a 1,000 x 10 local first apply cost 1.7x the CPU; with Bun's
  // (native) YAML parser the difference is within the noise of a shared machine (at most about
  // 1 s of 5), while the agent's peak RSS is 25-35 MiB lower (docs/benchmarks.md, "Full apply:
  // parsing, rendering and nft's input").
  // Local mode lowers it while it loads its manifests (local-mode.ts).
  // Loaded here, not at the top: --check-config (and --help) need none of the agent's machinery.
  const [{ startAgent }, { AGENT_JIT_POLICY }] = await Promise.all([import('../agent/agent.ts'), import('../agent/local-mode.ts')]);
  Bun.unsafe.setJITPolicy(AGENT_JIT_POLICY);
  const once = extra.once === true;
  if (once && !config.resources) throw new UsageError('--once works in local mode (--resources) only');
  const log = createLogger(config.logLevel, config.logFormat);
  log.info({ node: config.node, source: config.broker ?? config.resources ?? { bundleDir: config.bundleDir }, state: config.state }, 'outpost agent starting');

  const agent = await startAgent(config, log, { once });
  const ok = await agent.firstApply;
  if (once) {
    await agent.stop();
    return ok ? 0 : 1;
  }
  await untilSignal();
  // The ruleset stays in force after the agent exits: stopping the agent must not open the host.
  log.info('outpost agent stopping; the ruleset in force stays');
  await agent.stop();
  return 0;
}

async function checkConfig(config: Awaited<ReturnType<typeof loadCommandConfig<typeof AgentConfigSchema>>>['config'], io: CliIO): Promise<number> {
  // Files and folders first: a missing trust key is then named as missing, not as unparsable.
  const missing = pathProblems(AGENT_SETTINGS, config);
  if (missing.length) throw new UsageError(`files and folders named by the configuration are missing or unreadable:\n  ${missing.join('\n  ')}`);
  if (config.trustKey !== undefined) {
    const key = await loadPublicKeys(config.trustKey);
    if (!key.ok) throw new UsageError(key.message);
  }
  const source = config.broker !== undefined ? `relay mode, broker ${config.broker}` : config.bundleDir !== undefined ? `air-gapped relay mode, bundles from ${config.bundleDir}` : `local mode, resources ${(config.resources ?? []).join(', ')}`;
  io.out(`config ok: node ${config.node}, ${source}, state ${config.state}`);
  return 0;
}
