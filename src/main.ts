#!/usr/bin/env bun
/**
 * outpost: Calico host-endpoint policy for machines outside any cluster.
 * The composition root: picks the subcommand and maps errors to exit codes.
 */
import { endQuietlyOnBrokenPipe, processIO, UsageError, type CliIO } from './cli/io.ts';
import { formatHelp, helpFlagNames, nearest, wantsHelp, type CommandHelp } from './cli/help.ts';

/** One line per command; each command's own --help says the rest. */
const COMMAND_LINES: readonly (readonly [string, string])[] = [
  ['agent', 'enforce this node\'s policy: from a relay (--broker, --trust-key), bundles (--bundle-dir) or local files (--resources)'],
  ['relay', 'publish each node\'s signed snapshot from etcd or a folder of manifests over MQTT'],
  ['status', 'what this host enforces, from which source, whether it is in sync, with counters'],
  ['explain', 'why a packet is allowed or denied: the verdict, then each step that decided it'],
  ['fleet', 'one line per node: in sync, behind, offline, erroring or holding back invalid resources'],
  ['test', 'check declared flows (from, to, port, expect allow|deny) against a set of resources'],
  ['diff', 'what a change would do, per affected node, before it is applied'],
  ['keygen', 'write an ed25519 signing key pair for a relay'],
  ['bundle', 'signed offline bundles: export, verify, import'],
  ['apply', 'create or update resources in etcd (Calico\'s layout)'],
  ['create', 'create resources in etcd; fails for one that exists'],
  ['replace', 'update resources in etcd (compare-and-swap on resourceVersion)'],
  ['delete', 'delete resources from etcd'],
  ['get', 'show resources stored in etcd'],
  ['validate', 'check resources without applying them'],
  ['render', 'print the nftables JSON the agent would apply for a node'],
  ['selector', 'evaluate a selector against labels or resources'],
  ['version', 'print version, git commit, build target and Bun version'],
  ['help', 'print this list, or a command\'s help: outpost help COMMAND'],
];

const USAGE = `usage: outpost <command> [options]

commands:
${COMMAND_LINES.map(([name, line]) => `  ${name.padEnd(10)} ${line}`).join('\n')}

Run 'outpost <command> --help' for a command's options and examples.
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

// The commands written in their own files carry their help there; the others' is in help-texts.ts.
const OWN_HELP: Record<string, () => Promise<CommandHelp>> = {
  status: async () => (await import('./cli/status-command.ts')).statusHelp,
  explain: async () => (await import('./cli/explain-command.ts')).explainHelp,
  fleet: async () => (await import('./cli/fleet-command.ts')).fleetHelp,
  test: async () => (await import('./cli/test-command.ts')).testHelp,
  diff: async () => (await import('./cli/diff-command.ts')).diffHelp,
};

/** The help of `cmd` (or of `bundle <sub>`), and the name it goes by: "bundle export". */
async function helpFor(cmd: string, sub: string | undefined): Promise<{ name: string; help: CommandHelp } | undefined> {
  const own = OWN_HELP[cmd];
  if (own) return { name: cmd, help: await own() };
  const { HELP } = await import('./cli/help-texts.ts');
  const nested = sub !== undefined ? HELP[`${cmd} ${sub}`] : undefined;
  if (nested) return { name: `${cmd} ${sub}`, help: nested };
  const help = HELP[cmd];
  return help ? { name: cmd, help } : undefined;
}

function unknownCommand(cmd: string, io: CliIO): number {
  if (cmd.startsWith('-')) {
    io.err(`unknown flag ${cmd}: outpost takes a command first (outpost COMMAND [options])\nRun 'outpost --help' for the list of commands.`);
    return 2;
  }
  const near = nearest(cmd, COMMAND_LINES.map(([name]) => name));
  io.err(`unknown command '${cmd}'${near ? `; did you mean '${near}'?` : ''}\nRun 'outpost --help' for the list of commands.`);
  return 2;
}

/** `outpost help [COMMAND [SUB]]`. */
async function helpCommand(args: string[], io: CliIO): Promise<number> {
  const [cmd, sub] = args;
  if (cmd === undefined) {
    io.out(USAGE);
    return 0;
  }
  if (!(cmd in COMMANDS)) return unknownCommand(cmd, io);
  const h = await helpFor(cmd, sub);
  io.out(formatHelp(h!.help));
  return 0;
}

/** An unknown flag, with the nearest one the command has (from its help). */
async function unknownFlag(flag: string, cmd: string, rest: string[], io: CliIO): Promise<number> {
  const h = await helpFor(cmd, rest[0]);
  const name = h?.name ?? cmd;
  // One- and two-letter flags are one typo away from every other short flag: no guess then.
  const near = h && flag.replace(/^-+/, '').length > 1 ? nearest(flag, helpFlagNames(h.help)) : undefined;
  io.err(`unknown flag ${flag} for 'outpost ${name}'${near ? `; did you mean ${near}?` : ''}\nRun 'outpost ${name} --help' for its options.`);
  return 2;
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-V') return COMMANDS.version!([], io);
  if (cmd === '-h' || cmd === '--help') {
    io.out(USAGE);
    return 0;
  }
  if (cmd === undefined) {
    io.err(USAGE);
    return 2;
  }
  if (cmd === 'help') return helpCommand(rest, io);
  const run = COMMANDS[cmd];
  if (!run) return unknownCommand(cmd, io);
  if (wantsHelp(rest)) {
    const h = await helpFor(cmd, rest[0]);
    io.out(formatHelp(h!.help));
    return 0;
  }
  try {
    return await run(rest, io);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /Unknown option '([^']+)'/.exec((e as Error).message)?.[1];
      if (flag !== undefined) return unknownFlag(flag, cmd, rest, io);
    }
    if (e instanceof UsageError || code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      io.err(`outpost ${cmd}: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) {
  // `outpost render ... | head -1`: the reader is gone, which is not an error of ours.
  endQuietlyOnBrokenPipe();
  // Only the compiled binary: from source, `bun` itself was asked for whatever the variables say.
  if (Bun.isStandaloneExecutable) {
    await (await import('./platform/runtime-env.ts')).reexecWithoutRuntimeVariables((line) => processIO.err(line));
  }
  process.exitCode = await main(process.argv.slice(2));
}
