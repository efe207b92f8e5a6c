/**
 * `outpost agent`: enforce the node's policy and keep it enforced as resources and interfaces
 * change. `--once`: apply, verify and exit (0 on success), for boot scripts.
 */
import { parseArgs } from 'node:util';
import { hostname } from 'node:os';
import { mergeSettings, parseAgentConfig } from '../config/agent-config.ts';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from '../config/load-file.ts';
import { createLogger } from '../platform/logger.ts';
import { startAgent } from '../agent/agent.ts';
import type { CliIO } from './io.ts';
import { UsageError } from './io.ts';

export async function agentCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      node: { type: 'string' },
      resources: { type: 'string', multiple: true },
      state: { type: 'string' },
      'failsafe-inbound': { type: 'string' },
      'failsafe-outbound': { type: 'string' },
      loopback: { type: 'string' },
      'log-level': { type: 'string' },
      nft: { type: 'string' },
      once: { type: 'boolean' },
    },
  });
  const configPath = values.config ?? io.env['OUTPOST_CONFIG'];
  const file = await loadConfigFile(configPath ?? DEFAULT_CONFIG_FILE, configPath !== undefined);
  if (!file.ok) throw new UsageError(file.error);
  const merged = mergeSettings(file.settings, io.env, {
    node: values.node,
    resources: values.resources,
    state: values.state,
    failsafeInbound: values['failsafe-inbound'],
    failsafeOutbound: values['failsafe-outbound'],
    loopback: values.loopback,
    logLevel: values['log-level'],
    nft: values.nft,
  }, hostname());
  const parsed = parseAgentConfig(merged);
  if (!parsed.ok) throw new UsageError(`invalid agent configuration:\n  ${parsed.errors.join('\n  ')}`);
  const config = parsed.config;
  const log = createLogger(config.logLevel);
  log.info({ node: config.node, resources: config.resources, state: config.state }, 'outpost agent starting');

  const agent = await startAgent(config, log, { once: values.once ?? false });
  const ok = await agent.firstApply;
  if (values.once) {
    await agent.stop();
    return ok ? 0 : 1;
  }
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  // The ruleset stays in force after the agent exits: stopping the agent must not open the host.
  log.info('outpost agent stopping; the ruleset in force stays');
  await agent.stop();
  return 0;
}
