/**
 * The policy set both benchmarks use, as one YAML manifest: sized like a mid-sized site so the
 * measured paths (plan, render, nft, SQLite) do real work, not a two-rule toy.
 *
 * - tiers security (100) and platform (200, default Pass) besides default
 * - node "gw": two HEPs (eth1, eth2, with expectedIPs), profile "base"
 * - PEERS other hosts (one HEP each, on their own nodes) with role/env/zone labels; web peers
 *   carry a named port, so egress to `role == 'web'` port `http` needs an addr.proto.port set
 * - SETS GlobalNetworkSets (8 CIDRs each, v4 and v6) labelled by kind
 * - POLICIES GlobalNetworkPolicies that all select gw (by different selectors), 6 rules each:
 *   selector-based sources (peer and network-set sets), a nets source, ICMP, two egress rules
 *
 * Everything stays in 198.18.0.0/15 and fd00::/8 like the lab.
 */
export interface PolicySetSize {
  readonly policies: number;
  readonly peers: number;
  readonly sets: number;
}

export const DEFAULT_SIZE: PolicySetSize = { policies: 50, peers: 200, sets: 20 };

/**
 * `--policies/--peers/--sets` over `defaults`, and a suffix naming a non-default size (for result
 * blocks, so the standard figures are kept).
 */
export function sizeFromArgs(args: ReadonlyMap<string, string | true>, defaults: PolicySetSize = DEFAULT_SIZE): { size: PolicySetSize; suffix: string } {
  const size = { ...defaults };
  let suffix = '';
  for (const k of ['policies', 'peers', 'sets'] as const) {
    const v = args.get(k);
    if (v === undefined) continue;
    if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new Error(`--${k} needs a whole number`);
    size[k] = Number(v);
    if (size[k] !== defaults[k]) suffix += `-${k}${v}`;
  }
  return { size, suffix };
}

const ROLES = ['web', 'db', 'cache', 'monitor', 'bastion', 'batch'] as const;
const KINDS = ['partner', 'scanner', 'office', 'vpn'] as const;
const GW_SELECTORS = [`role == 'gw'`, `env == 'prod'`, `role == 'gw' && zone == 'z1'`, `has(role) && !has(decommissioned)`];

const j = (x: unknown) => JSON.stringify(x);

function doc(kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): string {
  const meta = labels ? { name, labels } : { name };
  return `---\n${j({ apiVersion: 'projectcalico.org/v3', kind, metadata: meta, spec })}\n`;
}

/** A peer's addresses: 198.19.x.y and fd00:19::n, unique per index. */
export function peerAddrs(i: number): string[] {
  return [`198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`, `fd00:19::${(i + 1).toString(16)}`];
}

/** The GNP the etcd benchmark rewrites on every change: only its allowed port differs. */
export function changingPolicy(port: number): Record<string, unknown> {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'bench-changing' },
    spec: { order: 5, selector: `role == 'gw'`, ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [port] } }] },
  };
}

export function policySetYaml(size: PolicySetSize = DEFAULT_SIZE): string {
  const out: string[] = [];
  out.push(doc('Tier', 'security', { order: 100 }), doc('Tier', 'platform', { order: 200, defaultAction: 'Pass' }));
  out.push(doc('Profile', 'base', { ingress: [{ action: 'Allow', protocol: 'ICMP' }], egress: [{ action: 'Allow' }] }));
  const gwLabels = { role: 'gw', env: 'prod', zone: 'z1' };
  out.push(
    doc('HostEndpoint', 'gw-eth1', { node: 'gw', interfaceName: 'eth1', expectedIPs: ['198.18.1.1'], profiles: ['base'] }, gwLabels),
    doc('HostEndpoint', 'gw-eth2', { node: 'gw', interfaceName: 'eth2', expectedIPs: ['198.18.2.1'], profiles: ['base'] }, gwLabels),
  );
  for (let i = 0; i < size.peers; i++) {
    const role = ROLES[i % ROLES.length]!;
    const labels = { role, env: i % 3 === 0 ? 'staging' : 'prod', zone: `z${(i % 4) + 1}` };
    const ports = role === 'web' ? [{ name: 'http', protocol: 'TCP', port: 8080 + (i % 3) }] : [];
    const name = `peer${String(i).padStart(3, '0')}`;
    out.push(doc('HostEndpoint', `${name}-eth0`, { node: name, interfaceName: 'eth0', expectedIPs: peerAddrs(i), ports }, labels));
  }
  for (let i = 0; i < size.sets; i++) {
    const nets = Array.from({ length: 7 }, (_, k) => `198.18.${128 + i}.${k * 32}/27`).concat(`fd00:80:${i.toString(16)}::/48`);
    out.push(doc('GlobalNetworkSet', `set${i}`, { nets }, { kind: KINDS[i % KINDS.length]! }));
  }
  for (let i = 0; i < size.policies; i++) {
    const tier = i % 5 === 0 ? 'security' : i % 5 === 1 ? 'platform' : undefined;
    const role = ROLES[i % ROLES.length]!;
    const spec: Record<string, unknown> = {
      ...(tier ? { tier } : {}),
      order: 100 + i * 10,
      selector: GW_SELECTORS[i % GW_SELECTORS.length],
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { selector: `role == '${role}' && zone == 'z${(i % 4) + 1}'` }, destination: { ports: [1000 + i, `${2000 + i}:${2010 + i}`] } },
        { action: 'Allow', protocol: 'UDP', source: { nets: [`198.18.${200 + (i % 50)}.0/24`, `198.19.${100 + (i % 50)}.0/24`] }, destination: { ports: [5000 + i] } },
        { action: 'Deny', source: { selector: `kind == '${KINDS[i % KINDS.length]}'` } },
        { action: 'Allow', protocol: 'ICMP', source: { selector: `env == 'prod' && role != 'batch'` } },
      ],
      egress: [
        { action: 'Allow', protocol: 'TCP', destination: { selector: `role == 'db'`, ports: [5432 + (i % 4)] } },
        { action: 'Allow', protocol: 'TCP', destination: { selector: `role == 'web'`, ports: ['http'] } },
      ],
    };
    out.push(doc('GlobalNetworkPolicy', `pol${String(i).padStart(2, '0')}`, spec));
  }
  return out.join('');
}

/** One line for the doc: what the set is. */
export function describeSet(size: PolicySetSize = DEFAULT_SIZE): string {
  return `${size.policies} GlobalNetworkPolicies × 6 rules (${size.policies * 6} rules, 3 tiers), 2 HEPs on gw + ${size.peers} peer HEPs, ${size.sets} GlobalNetworkSets × 8 CIDRs, 1 profile`;
}

if (import.meta.main) process.stdout.write(policySetYaml());
