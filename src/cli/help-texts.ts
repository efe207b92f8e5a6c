/**
 * `--help` for the commands that have no help of their own in their file. The agent's and the
 * relay's flags are generated from their settings tables, so a setting added there shows up in
 * `--help` (and in the nearest-flag suggestions) without an edit here. Loaded only when help or
 * a suggestion is needed: a starting agent never pays for it.
 */
import { AGENT_SETTINGS } from '../config/agent-config.ts';
import { RELAY_SETTINGS } from '../config/relay-config.ts';
import type { Setting } from '../config/settings.ts';
import type { CommandHelp, FlagHelp } from './help.ts';

/** One settings-table row as a flag: its value placeholder, and where else it can be set. */
function settingFlag(s: Setting): FlagHelp {
  const value = s.kind === 'boolean' ? '' : s.path ? ' PATH' : ' VALUE';
  return { flag: `${s.flag}${value}`, help: `${s.help} [env ${s.env}; config key ${s.key}]` };
}

const AGENT_EXTRA_FLAGS: readonly FlagHelp[] = [
  { flag: '--config FILE', help: 'YAML config file (default /etc/outpost/agent.yaml when it exists; env OUTPOST_CONFIG)' },
  { flag: '--once', help: 'local mode: apply, verify and exit (0 on success), for boot scripts' },
  { flag: '--check-config', help: 'validate the configuration, the trust key and the files and folders it names, then exit: 0 ok, 2 with the problems; nftables is not touched' },
];

/** Relay flags that are not settings; the relay's owner adds its command-only flags here. */
const RELAY_EXTRA_FLAGS: readonly FlagHelp[] = [
  { flag: '--config FILE', help: 'YAML config file (default /etc/outpost/relay.yaml when it exists; env OUTPOST_CONFIG)' },
  { flag: '--check-config', help: 'validate the configuration, the signing key, the policy tests and the files and folders it names, then exit: 0 ok, 2 with the problems; nothing is started' },
];

const ETCD_FLAG_HELP: readonly FlagHelp[] = [
  { flag: '--etcd URL[,URL]', help: 'etcd client URLs (repeatable; default: ETCD_ENDPOINTS, or the calicoctl.cfg)' },
  { flag: '-c, --config FILE', help: 'a calicoctl.cfg (CalicoAPIConfig, datastoreType etcdv3); default /etc/calico/calicoctl.cfg when it exists' },
  { flag: '--etcd-ca-cert FILE', help: 'CA certificate (PEM) of etcd\'s server certificate (https:// endpoints)' },
  { flag: '--etcd-cert FILE', help: 'client certificate (PEM)' },
  { flag: '--etcd-key FILE', help: 'its private key (PEM; mode 0600 or stricter)' },
  { flag: '--etcd-username USER', help: 'etcd user (etcd auth enabled)' },
  { flag: '--etcd-password PASSWORD', help: 'its password (prefer ETCD_PASSWORD: a flag shows in ps)' },
];

const FILE_FLAG: FlagHelp = { flag: '-f, --filename FILE|DIR|-', help: 'resources to read (repeatable); a folder: its .yaml/.yml/.json files; -: standard input' };
const RECURSIVE: FlagHelp = { flag: '-R, --recursive', help: 'with a folder: its sub-folders too' };
const NAMESPACE: FlagHelp = { flag: '-n, --namespace NS', help: 'namespace of namespaced kinds (NetworkSet, WorkloadEndpoint); default "default"' };
const EXIT_CODES = 'Exit status: 0 done, 1 a resource was invalid or refused, or etcd failed (nothing is reported as done that was not), 2 usage.';

const write = (verb: string, summary: string, description: string, extra: readonly FlagHelp[]): CommandHelp => ({
  usage: `outpost ${verb} -f FILE|DIR|- [-f ...] [-R] [-n NS]${extra.length ? ` [${extra.map((f) => f.flag).join('] [')}]` : ''} [--etcd URL | -c calicoctl.cfg]`,
  summary,
  description: `${description}\nEvery input is validated before anything is written: one invalid resource and nothing is written. ${EXIT_CODES}`,
  flags: [FILE_FLAG, RECURSIVE, NAMESPACE, ...extra, ...ETCD_FLAG_HELP],
  examples: [`outpost ${verb} -f policy/ --etcd http://127.0.0.1:2379`, `cat gnp.yaml | outpost ${verb} -f - --etcd http://127.0.0.1:2379`],
});

export const HELP: Readonly<Record<string, CommandHelp>> = {
  agent: {
    usage: 'outpost agent [--config FILE] [settings] [--once | --check-config]',
    summary: 'Enforce this node\'s policy and keep it enforced: from a relay (signed snapshots over MQTT), from signed bundles, or from local manifests.',
    description: 'Every setting can be given as a flag, an OUTPOST_* environment variable or a key of the YAML config file (flags win over the environment, which wins over the file). The ruleset in force stays when the agent stops.',
    get flags() {
      return [...AGENT_EXTRA_FLAGS, ...AGENT_SETTINGS.map(settingFlag)];
    },
    examples: [
      'outpost agent --node gw1 --resources /etc/outpost/policy --once',
      'outpost agent --node gw1 --broker mqtts://relay.example:8883 --trust-key /etc/outpost/relay.pub --broker-ca ca.crt --broker-cert gw1.crt --broker-key gw1.key',
      'outpost agent --config /etc/outpost/agent.yaml --check-config',
    ],
  },
  relay: {
    usage: 'outpost relay [--config FILE] [settings]',
    summary: 'Watch the datastore (etcd in Calico\'s layout, or a folder of manifests) and publish each node\'s signed snapshot over MQTT.',
    description: 'Every setting can be given as a flag, an OUTPOST_* environment variable or a key of the YAML config file (flags win over the environment, which wins over the file). Relays are stateless: several can run against one datastore.',
    get flags() {
      return [...RELAY_EXTRA_FLAGS, ...RELAY_SETTINGS.map(settingFlag)];
    },
    examples: [
      'outpost relay --etcd http://127.0.0.1:2379 --broker mqtt://127.0.0.1:1883 --signing-key /etc/outpost/relay.key',
      'outpost relay --resources ./policy --listen 127.0.0.1:1883 --insecure --signing-key relay.key',
      'outpost relay --config /etc/outpost/relay.yaml',
    ],
  },
  keygen: {
    usage: 'outpost keygen --out PATH [--force]',
    summary: 'Write a new ed25519 signing key pair for a relay: PATH.key (private, mode 0600) and PATH.pub (public, for every agent).',
    description: 'Existing files are never replaced without --force: agents pinned to the old public key would refuse new snapshots.',
    flags: [
      { flag: '-o, --out PATH', help: 'where to write: PATH.key and PATH.pub ("relay.key" means the pair "relay")' },
      { flag: '--force', help: 'replace an existing pair' },
    ],
    examples: ['outpost keygen --out relay', 'outpost keygen --out /etc/outpost/relay --force'],
  },
  bundle: {
    usage: 'outpost bundle export|verify|import [options]',
    summary: 'Signed offline bundles for air-gapped sites: export a node\'s snapshot to a file, verify it, import it on the host.',
    description: 'Run `outpost bundle <export|verify|import> --help` for each one\'s options.',
    flags: [],
    examples: [
      'outpost bundle export --node gw1 --etcd http://127.0.0.1:2379 --signing-key relay.key --out gw1.bundle',
      'outpost bundle verify gw1.bundle --trust-key relay.pub',
      'outpost bundle import gw1.bundle --config /etc/outpost/agent.yaml',
    ],
  },
  'bundle export': {
    usage: 'outpost bundle export (--node N --out FILE | --all --out-dir DIR) (--resources DIR | --etcd URL | -c calicoctl.cfg) --signing-key KEY',
    summary: 'Write a node\'s snapshot, exactly as the relay would publish it, as a signed bundle file.',
    description: 'With --all: <out-dir>/<node>.bundle for every node with a host endpoint, the layout an agent\'s bundleDir reads.',
    flags: [
      { flag: '--node N', help: 'the node to export' },
      { flag: '--all', help: 'every node with a host endpoint (needs --out-dir)' },
      { flag: '--resources DIR', help: 'the datastore is a folder of manifests' },
      ...ETCD_FLAG_HELP,
      { flag: '--signing-key KEY', help: 'the relay\'s private key (from outpost keygen)' },
      { flag: '-o, --out FILE', help: 'the bundle file (with --node)' },
      { flag: '--out-dir DIR', help: 'the folder for <node>.bundle files (with --all)' },
    ],
    examples: [
      'outpost bundle export --node gw1 --resources ./policy --signing-key relay.key --out gw1.bundle',
      'outpost bundle export --all --etcd http://127.0.0.1:2379 --signing-key relay.key --out-dir /media/usb',
    ],
  },
  'bundle verify': {
    usage: 'outpost bundle verify FILE --trust-key PUB [--trust-key PUB2] [--node N]',
    summary: 'Check a bundle\'s signature (and node) and say what it holds; exit 1 if it is not valid.',
    flags: [
      { flag: '--trust-key PUB', help: 'a trusted public key (repeatable)' },
      { flag: '--node N', help: 'the node the bundle must be for (default: the one it names)' },
    ],
    examples: ['outpost bundle verify gw1.bundle --trust-key relay.pub', 'outpost bundle verify gw1.bundle --trust-key old.pub --trust-key new.pub --node gw1'],
  },
  'bundle import': {
    usage: 'outpost bundle import FILE [--wait SECONDS] [agent settings]',
    summary: 'Hand a bundle to this host\'s agent: a running agent applies it and its verdict is printed; a stopped one enforces it when it starts.',
    description: 'Reads the agent\'s own configuration (its config file, environment and flags; see outpost agent --help) for the node, trust keys and state directory.',
    flags: [
      { flag: '--wait SECONDS', help: 'how long to wait for a running agent\'s verdict (default 30)' },
      { flag: '--config FILE', help: 'the agent\'s config file (default /etc/outpost/agent.yaml)' },
      { flag: '--node NAME', help: 'the agent\'s node name' },
      { flag: '--trust-key PUB', help: 'the relay\'s public key (repeatable)' },
      { flag: '--state DIR', help: 'the agent\'s state directory' },
    ],
    examples: ['outpost bundle import /media/usb/gw1.bundle', 'outpost bundle import gw1.bundle --config /etc/outpost/agent.yaml --wait 60'],
  },
  apply: write('apply', 'Create or update resources in etcd, in Calico\'s v3 layout (calicoctl apply).', 'A resource that exists is updated, one that does not is created.', []),
  create: write('create', 'Create resources in etcd; a resource that already exists is refused (calicoctl create).', 'With --skip-exists an existing resource is left as it is and counted as done.', [{ flag: '--skip-exists', help: 'an existing resource is not a failure' }]),
  replace: write('replace', 'Update existing resources in etcd, compare-and-swap on metadata.resourceVersion (calicoctl replace).', 'A resource that does not exist, or changed since its resourceVersion, is refused.', []),
  delete: {
    usage: 'outpost delete (KIND NAME [NAME...] | -f FILE|DIR|-) [-n NS] [--skip-not-exists] [--etcd URL | -c calicoctl.cfg]',
    summary: 'Delete resources from etcd, by kind and name or as listed in files (calicoctl delete).',
    description: EXIT_CODES,
    flags: [FILE_FLAG, RECURSIVE, NAMESPACE, { flag: '--skip-not-exists', help: 'a resource that does not exist is not a failure' }, ...ETCD_FLAG_HELP],
    examples: ['outpost delete globalnetworkpolicy allow-ssh --etcd http://127.0.0.1:2379', 'outpost delete -f policy/old.yaml --etcd http://127.0.0.1:2379'],
  },
  get: {
    usage: 'outpost get (KIND [NAME...] | -f FILE|DIR|-) [-n NS | -A] [-o ps|wide|yaml|json] [--etcd URL | -c calicoctl.cfg]',
    summary: 'Show resources stored in etcd (calicoctl get).',
    description: 'KIND: hostendpoint (hep), globalnetworkpolicy (gnp), globalnetworkset, networkset, profile, tier, felixconfiguration, workloadendpoint. Exit 1 when a named resource does not exist.',
    flags: [
      { flag: '-o, --output FORMAT', help: 'ps (default), wide, yaml or json' },
      FILE_FLAG,
      RECURSIVE,
      NAMESPACE,
      { flag: '-A, --all-namespaces', help: 'list namespaced kinds in every namespace' },
      ...ETCD_FLAG_HELP,
    ],
    examples: ['outpost get hostendpoints --etcd http://127.0.0.1:2379', 'outpost get gnp allow-ssh -o yaml --etcd http://127.0.0.1:2379'],
  },
  validate: {
    usage: 'outpost validate -f FILE|DIR|- [-f ...]',
    summary: 'Check resources without applying them: every problem with its file, resource and field.',
    description: 'Warnings (Calico kinds outpost does not manage, fields without effect, missing profiles or tiers) are printed but do not fail the check. Exit status: 0 valid, 1 any problem, 2 usage.',
    flags: [FILE_FLAG],
    examples: ['outpost validate -f ./policy', 'kubectl get gnp -o yaml | outpost validate -f -'],
  },
  render: {
    usage: 'outpost render --node NAME --resources FILE|DIR|- [--plan] [--no-interfaces] [--loopback exempt|policy]',
    summary: 'Print the nftables JSON ruleset the agent would apply for a node (or its plan with --plan), without applying anything.',
    description: 'An invalid input resource is reported on stderr and left out, as the agent leaves it out; the ruleset for the valid rest is still printed and the exit status is 1. A node that matches no HostEndpoint gets a warning: the agent would govern no interface. Exit status: 0 ok, 1 an invalid resource, 2 usage.',
    flags: [
      { flag: '--node NAME', help: 'the node (HostEndpoints with spec.node equal to it apply)' },
      { flag: '--resources FILE|DIR|-', help: 'resources (repeatable); -: standard input' },
      { flag: '--plan', help: 'print the computed plan instead of the nftables JSON' },
      { flag: '--no-interfaces', help: 'do not read this machine\'s interfaces (for "*" HostEndpoints)' },
      { flag: '--loopback exempt|policy', help: '"exempt" (default): lo is never governed by the * HEP; "policy": as Felix' },
    ],
    examples: ['outpost render --node gw1 --resources ./policy', 'outpost render --node gw1 --resources ./policy --plan | less', 'cat policy.yaml | outpost render --node gw1 --resources -'],
  },
  selector: {
    usage: "outpost selector 'EXPR' (--labels JSON | --resources FILE|DIR)",
    summary: 'Evaluate a Calico selector against labels (match: exit 0, no match: exit 1), or list what it selects in a set of resources.',
    description: 'A selector that does not parse is printed with the position of the problem (exit 2).',
    flags: [
      { flag: '--labels JSON', help: 'a JSON object of labels, e.g. {"role":"web"}' },
      { flag: '--resources FILE|DIR', help: 'list the host endpoints and network sets it selects (repeatable)' },
    ],
    examples: [`outpost selector "role == 'web'" --labels '{"role":"web"}'`, "outpost selector \"has(role) && env != 'dev'\" --resources ./policy"],
  },
  version: {
    usage: 'outpost version [-o json]',
    summary: 'Print the version, git commit, build target and Bun version.',
    flags: [{ flag: '-o, --output json', help: 'as one JSON object' }],
    examples: ['outpost version', 'outpost version -o json'],
  },
  help: {
    usage: 'outpost help [COMMAND [SUBCOMMAND]]',
    summary: 'Print the list of commands, or a command\'s help (the same as outpost COMMAND --help).',
    flags: [],
    examples: ['outpost help', 'outpost help render', 'outpost help bundle export'],
  },
};
