#!/usr/bin/env bun
/**
 * outpost: Calico host-endpoint policy for machines outside any cluster.
 * The composition root: picks the subcommand and maps errors to exit codes.
 */
import { agentCommand } from './cli/agent-command.ts';
import { validateCommand } from './cli/validate-command.ts';
import { renderCommand } from './cli/render-command.ts';
import { selectorCommand } from './cli/selector-command.ts';
import { relayCommand } from './cli/relay-command.ts';
import { keygenCommand } from './cli/keygen-command.ts';
import { RESOURCE_COMMANDS } from './cli/resource-commands.ts';
import { processIO, UsageError, type CliIO } from './cli/io.ts';

const USAGE = `usage: outpost <command> [options]

commands:
  agent      enforce this node's policy, from a relay: --node NAME --broker URL --trust-key relay.pub [--state DIR]
             or from local files: --node NAME --resources FILE|DIR [--once]
  relay      publish each node's signed snapshot: --etcd URL | --resources DIR, --broker URL | --listen HOST:PORT, --signing-key relay.key
  keygen     write an ed25519 signing key pair: --out relay (relay.key, relay.pub)
  apply      create or update resources in etcd (Calico's layout): -f FILE|DIR --etcd URL
  create     create resources; fails if one exists: -f FILE|DIR --etcd URL
  replace    update resources, compare-and-swap on resourceVersion: -f FILE|DIR --etcd URL
  delete     delete resources: KIND NAME | -f FILE|DIR, --etcd URL
  get        show resources: KIND [NAME] [-o yaml|json|wide] --etcd URL
  validate   check resources without applying: -f FILE|DIR [-f ...]
  render     print the nftables JSON the agent would apply: --node NAME --resources FILE|DIR [--plan]
  selector   evaluate a selector: 'EXPR' --labels '{"k":"v"}' | --resources DIR
`;

const COMMANDS: Record<string, (args: string[], io: CliIO) => Promise<number>> = {
  agent: agentCommand,
  relay: relayCommand,
  keygen: keygenCommand,
  ...RESOURCE_COMMANDS,
  validate: validateCommand,
  render: renderCommand,
  selector: selectorCommand,
};

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    io.out(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    io.err(`unknown command '${cmd}'\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (e as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      io.err(`outpost ${cmd}: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
