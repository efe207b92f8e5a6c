/**
 * `outpost explain`: would this packet pass, and which rule decided? Computed by the explain
 * engine (src/explain/engine.ts) from the same plan the renderer uses: on a host, the agent's
 * own state (its config and state dir); with --resources or --etcd, the plan a datastore gives
 * the node.
 */
import { parseArgs } from 'node:util';
import { resolveDispatch, type HostInterface } from '../calc/dispatch.ts';
import { explainPacket, ExplainError, type CtState, type Direction, type Packet } from '../explain/engine.ts';
import { checkAddress, checkIfaceName, parseIcmpSpec, parsePortNumber, parsePortSpec, parseProtocol, sameAddress } from '../explain/packet-text.ts';
import { hostPlan, PlanSourceError } from '../explain/plan-source.ts';
import { datastorePlans, DATASTORE_FLAGS, DATASTORE_HELP, hasDatastore } from '../explain/datastore-args.ts';
import { readHostInterfaces } from '../agent/host-interfaces.ts';
import type { NodePlan } from '../plan/schema.ts';
import { UsageError, type CliIO } from './io.ts';
import type { CommandHelp } from './help.ts';

export const explainHelp: CommandHelp = {
  usage: 'outpost explain --iface IF (--in|--out|--forward --out-iface IF) --from IP --to IP [--to-port N/PROTO | --proto P] [options]',
  summary: 'Say whether outpost lets a packet through, and which step decided it.',
  description:
    'Prints allow or deny on the first line, then each step that decided: conntrack, failsafe, the untracked / pre-DNAT / normal / forward stage, tier, policy, rule (index and origin), end-of-tier action, profile or final drop, then where the plan came from. ' +
    'On a host it reads the agent\'s configuration and state (local mode: the agent\'s resources and its recorded last valid versions; relay or bundle mode: the verified snapshot it cached) and the live interfaces. ' +
    'With --resources or --etcd it computes the plan of --node from that datastore; interfaces then hold the addresses given with --iface-ip, or else the expectedIPs of the host endpoint that owns the packet\'s local address.',
  flags: [
    { flag: '--iface IF', help: 'the interface the packet arrives on (--in, --forward) or leaves by (--out)' },
    { flag: '--in | --out | --forward', help: 'to this host, from this host, or routed through it' },
    { flag: '--out-iface IF', help: 'with --forward: the interface it leaves by' },
    { flag: '--from IP', help: 'source address' },
    { flag: '--to IP', help: 'destination address' },
    { flag: '--to-port N[/PROTO]', help: 'destination port, e.g. 443/tcp' },
    { flag: '--from-port N', help: 'source port (default 40000, an ephemeral port)' },
    { flag: '--proto P', help: 'tcp, udp, icmp, icmpv6, sctp or a number (default: from --to-port, else tcp)' },
    { flag: '--icmp-type N, --icmp-code N', help: 'for icmp/icmpv6 (default echo request)' },
    { flag: '--established', help: 'a packet of a connection conntrack already knows (default: the first packet)' },
    { flag: '--ct-state new|established|invalid', help: 'conntrack\'s view of the packet, in full' },
    { flag: '-o, --output text|json', help: 'output format (default text)' },
    { flag: '--config FILE', help: 'host mode: the agent\'s configuration (default /etc/outpost/agent.yaml)' },
    { flag: '--state DIR', help: 'host mode: the agent\'s state dir (default from its configuration, /var/lib/outpost)' },
    { flag: '--node N', help: 'the node (host mode: default from the agent\'s configuration)' },
    ...DATASTORE_HELP,
    { flag: '--iface-ip IF=IP', help: 'with a datastore: an address the interface holds (repeatable)' },
    { flag: '--loopback exempt|policy', help: 'with a datastore: the agent\'s loopback setting (default exempt)' },
  ],
  examples: [
    'outpost explain --iface eth0 --in --from 198.18.0.5 --to 198.18.1.1 --to-port 443/tcp',
    'outpost explain --iface eth0 --out --from 198.18.1.1 --to 198.18.0.53 --to-port 53/udp -o json',
    'outpost explain --node gw --resources /etc/outpost/policy --iface eth1 --in --from 198.18.1.2 --to 198.18.1.1 --proto icmp',
  ],
};

const OPTIONS = {
  iface: { type: 'string' }, in: { type: 'boolean' }, out: { type: 'boolean' }, forward: { type: 'boolean' }, 'out-iface': { type: 'string' },
  from: { type: 'string' }, to: { type: 'string' }, 'from-port': { type: 'string' }, 'to-port': { type: 'string' }, proto: { type: 'string' },
  'icmp-type': { type: 'string' }, 'icmp-code': { type: 'string' }, established: { type: 'boolean' }, 'ct-state': { type: 'string' },
  output: { type: 'string', short: 'o' }, config: { type: 'string' }, state: { type: 'string' }, node: { type: 'string' },
  'iface-ip': { type: 'string', multiple: true }, loopback: { type: 'string' },
  ...DATASTORE_FLAGS,
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const fail = (m: string | undefined): void => {
  if (m !== undefined) throw new UsageError(m);
};

/** The packet from the flags; every problem is a usage error naming the flag. */
export function packetFromFlags(values: Values): Packet {
  const dirs = (['in', 'out', 'forward'] as const).filter((d) => values[d] === true);
  if (dirs.length !== 1) throw new UsageError('give exactly one of --in, --out and --forward');
  const direction: Direction = dirs[0]!;
  if (!values.iface) throw new UsageError('--iface IF is required (the interface the packet arrives on, or leaves by with --out)');
  if (direction === 'forward' && !values['out-iface']) throw new UsageError('--forward needs --out-iface IF (the interface the packet leaves by)');
  if (direction !== 'forward' && values['out-iface']) throw new UsageError('--out-iface is for --forward only');
  fail(checkIfaceName(values.iface, '--iface'));
  if (values['out-iface'] !== undefined) fail(checkIfaceName(values['out-iface'], '--out-iface'));
  if (!values.from || !values.to) throw new UsageError('--from IP and --to IP are required');
  fail(checkAddress(values.from, '--from'));
  fail(checkAddress(values.to, '--to'));
  let protocol: number | undefined;
  let dstPort: number | undefined;
  if (values['to-port'] !== undefined) {
    const p = parsePortSpec(values['to-port'], '--to-port');
    if (typeof p === 'string') throw new UsageError(p);
    dstPort = p.port;
    protocol = p.protocol;
  }
  if (values.proto !== undefined) {
    const p = parseProtocol(values.proto, '--proto');
    if (typeof p === 'string') throw new UsageError(p);
    if (protocol !== undefined && p !== protocol) throw new UsageError(`--proto ${values.proto} contradicts --to-port ${values['to-port']}`);
    protocol = p;
  }
  protocol ??= 6;
  const ported = protocol === 6 || protocol === 17 || protocol === 132 || protocol === 136;
  if (!ported && (dstPort !== undefined || values['from-port'] !== undefined)) throw new UsageError(`protocol ${values.proto ?? protocol} has no ports; drop --to-port/--from-port or use tcp, udp or sctp`);
  if (ported && dstPort === undefined) throw new UsageError('--to-port N/PROTO is required for tcp, udp and sctp (e.g. --to-port 443/tcp)');
  let srcPort: number | undefined = ported ? 40000 : undefined;
  if (values['from-port'] !== undefined) {
    const p = parsePortNumber(values['from-port'], '--from-port');
    if (typeof p === 'string') throw new UsageError(p);
    srcPort = p;
  }
  const icmp = protocol === 1 || protocol === 58;
  if (!icmp && (values['icmp-type'] !== undefined || values['icmp-code'] !== undefined)) throw new UsageError('--icmp-type and --icmp-code need --proto icmp or icmpv6');
  const icmpNum = (flag: 'icmp-type' | 'icmp-code'): number | undefined => {
    const t = values[flag];
    if (t === undefined) return undefined;
    const r = parseIcmpSpec(t, `--${flag}`);
    if (typeof r === 'string' || r.code !== undefined) throw new UsageError(`--${flag}: ${JSON.stringify(t)} is not a number 0-255`);
    return r.type;
  };
  let ct: CtState = 'new';
  if (values['ct-state'] !== undefined) {
    if (!['new', 'established', 'invalid'].includes(values['ct-state'])) throw new UsageError(`--ct-state: ${JSON.stringify(values['ct-state'])} is not new, established or invalid`);
    ct = values['ct-state'] as CtState;
  }
  if (values.established === true) {
    if (values['ct-state'] !== undefined && ct !== 'established') throw new UsageError('--established contradicts --ct-state');
    ct = 'established';
  }
  return {
    direction, iface: values.iface, ...(direction === 'forward' ? { outIface: values['out-iface'] } : {}),
    src: values.from.trim(), dst: values.to.trim(), protocol,
    ...(ported ? { srcPort, dstPort } : {}),
    ...(icmp ? { icmpType: icmpNum('icmp-type'), icmpCode: icmpNum('icmp-code') } : {}),
    ct,
  };
}

/** --iface-ip pairs, or the expectedIPs of the endpoint that owns the packet's local address. */
function datastoreInterfaces(values: Values, plan: NodePlan, packet: Packet): { interfaces: HostInterface[]; note: string } {
  const pairs = values['iface-ip'] ?? [];
  if (pairs.length) {
    const by = new Map<string, string[]>();
    for (const p of pairs) {
      const eq = p.indexOf('=');
      if (eq < 1) throw new UsageError(`--iface-ip ${JSON.stringify(p)}: use IF=IP, e.g. eth0=198.18.1.1`);
      const ip = p.slice(eq + 1).trim();
      fail(checkAddress(ip, '--iface-ip'));
      by.set(p.slice(0, eq), [...(by.get(p.slice(0, eq)) ?? []), ip]);
    }
    return { interfaces: [...by].map(([name, addresses]) => ({ name, addresses })), note: `interfaces as given by --iface-ip` };
  }
  const local = packet.direction === 'in' ? packet.dst : packet.direction === 'out' ? packet.src : undefined;
  const owner = local === undefined ? undefined : plan.endpoints.find((e) => e.interfaceName === '' && e.expectedIPs.some((ip) => sameAddress(ip, local)));
  if (!owner) return { interfaces: [], note: 'no interface addresses given (--iface-ip): only host endpoints with an interfaceName govern' };
  return {
    interfaces: [{ name: packet.iface, addresses: owner.expectedIPs }],
    note: `${packet.iface} assumed to hold HostEndpoint ${owner.name}'s expectedIPs (${owner.expectedIPs.join(', ')}); --iface-ip says otherwise`,
  };
}

export async function explainCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true });
  if (positionals.length) throw new UsageError(`explain takes no arguments (got ${positionals.join(' ')}); the packet is given with flags`);
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`-o ${output}: use text or json`);
  const packet = packetFromFlags(values);
  let plan: NodePlan;
  let source: string;
  let interfaces: HostInterface[];
  let loopback: 'exempt' | 'policy' = 'exempt';
  try {
    if (hasDatastore(values)) {
      if (values.state !== undefined || values.config !== undefined) throw new UsageError('--state and --config read an agent on this host; they do not combine with --resources or --etcd');
      if (!values.node) throw new UsageError('--node N is required with --resources or --etcd (whose plan to explain)');
      if (values.loopback !== undefined && values.loopback !== 'exempt' && values.loopback !== 'policy') throw new UsageError(`--loopback ${values.loopback}: use exempt or policy`);
      loopback = (values.loopback as 'exempt' | 'policy' | undefined) ?? 'exempt';
      const ds = await datastorePlans(values, io, [values.node]);
      const p = ds.plans.get(values.node)!;
      if (!p.endpoints.length) io.err(`warning: no host endpoint in ${ds.source} names node ${values.node}; outpost governs nothing there`);
      const d = datastoreInterfaces(values, p, packet);
      plan = p;
      interfaces = d.interfaces;
      source = `${ds.source}, node ${values.node}; ${d.note}`;
    } else {
      if (values['iface-ip'] || values.loopback !== undefined) throw new UsageError('--iface-ip and --loopback are for --resources/--etcd; on a host the live interfaces and the agent\'s settings are used');
      const { loadAgentConfig } = await import('./agent-command.ts');
      const forwarded = [
        ...(values.config !== undefined ? ['--config', values.config] : []),
        ...(values.state !== undefined ? ['--state', values.state] : []),
        ...(values.node !== undefined ? ['--node', values.node] : []),
      ];
      const { config } = await loadAgentConfig(forwarded, io, {}).catch((e: unknown) => {
        if (!(e instanceof UsageError)) throw e;
        throw new UsageError(`${e.message}\n(on a host, explain reads the agent's configuration: --config FILE, default /etc/outpost/agent.yaml; elsewhere give --node N with --resources DIR or --etcd URL)`);
      });
      const h = await hostPlan(config);
      plan = h.plan;
      loopback = config.loopback;
      interfaces = readHostInterfaces();
      source = `${h.source}; live interfaces of this host`;
    }
  } catch (e) {
    if (e instanceof PlanSourceError) {
      io.err(`outpost explain: ${e.message}`);
      return 1;
    }
    throw e;
  }
  let result;
  try {
    result = explainPacket(plan, resolveDispatch(plan.endpoints, interfaces), packet, { loopback });
  } catch (e) {
    if (e instanceof ExplainError) throw new UsageError(e.message);
    throw e;
  }
  if (output === 'json') io.out(JSON.stringify({ verdict: result.verdict, steps: result.steps, packet, source }, null, 2));
  else io.out([result.verdict, ...result.steps.map((s) => `  ${s.text}`), `plan: ${source}`].join('\n'));
  return 0;
}
