#!/usr/bin/env bun
/**
 * outpost: Calico host-endpoint policy for machines outside any cluster.
 * The composition root: picks the subcommand and maps errors to exit codes.
 */
import { processIO, UsageError, type CliIO } from './cli/io.ts';

const USAGE = `usage: outpost <command> [options]

commands:
  agent      enforce this node's policy, from a relay: --node NAME --broker URL --trust-key relay.pub [--state DIR]
             or from local files: --node NAME --resources FILE|DIR [--once]; --check-config validates and exits
  relay      publish each node's signed snapshot: --etcd URL | --resources DIR, --broker URL | --listen HOST:PORT, --signing-key relay.key
  keygen     write an ed25519 signing key pair: --out relay (relay.key, relay.pub)
  bundle     signed offline bundles: export --node N|--all ... --out FILE|--out-dir DIR, verify FILE --trust-key PUB, import FILE
  apply      create or update resources in etcd (Calico's layout): -f FILE|DIR --etcd URL
  create     create resources; fails if one exists: -f FILE|DIR --etcd URL
  replace    update resources, compare-and-swap on resourceVersion: -f FILE|DIR --etcd URL
  delete     delete resources: KIND NAME | -f FILE|DIR, --etcd URL
  get        show resources: KIND [NAME] [-o yaml|json|wide] --etcd URL
  validate   check resources without applying: -f FILE|DIR [-f ...]
  render     print the nftables JSON the agent would apply: --node NAME --resources FILE|DIR [--plan]
  selector   evaluate a selector: 'EXPR' --labels '{"k":"v"}' | --resources DIR
  version    print version, git commit, build target and Bun version [-o json]
`;

type Command = (args: string[], io: CliIO) => Promise<number>;
const lazy = (load: () => Promise<Command>): Command => async (args, io) => (await load())(args, io);
const resource = (name: 'apply' | 'create' | 'replace' | 'delete' | 'get'): Command =>
  lazy(async () => (await import('./cli/resource-commands.ts')).RESOURCE_COMMANDS[name]);

// Each command loads only its own modules: an agent booting from cache does not pay for the
// relay, etcd, YAML or the embedded broker (start-up time is a target, docs/benchmarks.md).
const COMMANDS: Record<string, Command> = {
  agent: lazy(async () => (await import('./cli/agent-command.ts')).agentCommand),
  relay: lazy(async () => (await import('./cli/relay-command.ts')).relayCommand),
  keygen: lazy(async () => (await import('./cli/keygen-command.ts')).keygenCommand),
  bundle: lazy(async () => (await import('./cli/bundle-command.ts')).bundleCommand),
  apply: resource('apply'),
  create: resource('create'),
  replace: resource('replace'),
  delete: resource('delete'),
  get: resource('get'),
  validate: lazy(async () => (await import('./cli/validate-command.ts')).validateCommand),
  render: lazy(async () => (await import('./cli/render-command.ts')).renderCommand),
  selector: lazy(async () => (await import('./cli/selector-command.ts')).selectorCommand),
  version: lazy(async () => (await import('./cli/version-command.ts')).versionCommand),
  status: lazy(async () => (await import('./cli/status-command.ts')).statusCommand),
  explain: lazy(async () => (await import('./cli/explain-command.ts')).explainCommand),
  fleet: lazy(async () => (await import('./cli/fleet-command.ts')).fleetCommand),
  test: lazy(async () => (await import('./cli/test-command.ts')).testCommand),
  diff: lazy(async () => (await import('./cli/diff-command.ts')).diffCommand),
};

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-V') return COMMANDS.version!([], io);
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
  // Only the compiled binary: from source, `bun` itself was asked for whatever the variables say.
  if (Bun.isStandaloneExecutable) {
    await (await import('./platform/runtime-env.ts')).reexecWithoutRuntimeVariables((line) => processIO.err(line));
  }
  process.exitCode = await main(process.argv.slice(2));
}
