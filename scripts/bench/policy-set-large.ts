/**
 * The large policy set of the scale benchmarks (issue 12): one node with 1,000
 * GlobalNetworkPolicies × 10 rules, written the way a site keeps it: block-style YAML split over
 * several files (policies 100 to a file, sets, endpoints), each well under the 4 MiB file limit.
 *
 * - tiers security (100) and platform (200, default Pass) besides default; one profile
 * - node "gw": two HEPs (eth1, eth2, expectedIPs), labelled role=gw, env=prod, zone=z1
 * - PEERS other hosts (one HEP each, own node) labelled role/env/zone/app; web peers carry the
 *   named port `http`, so egress to it needs an addr.proto.port set
 * - SETS GlobalNetworkSets (8 CIDRs each, v4 and v6) labelled kind
 * - POLICIES that all select gw (by four different selectors), 7 ingress + 3 egress rules: peer
 *   selector sources (role+zone, app+env: about 130 distinct selector sets), CIDR sources (v4 and
 *   v6), a network-set deny, ports, port ranges, ICMP, egress to selected peers including a named
 *   port, and egress to CIDRs
 *
 * Also the big GlobalNetworkSet of the set-member benchmarks: `memberSetYaml(n)` holds n host
 * addresses (/32, one per index in 198.18.0.0/15, so up to 131,072), and `memberPolicyYaml()` a
 * policy that denies traffic from it, so the set is in gw's ruleset.
 *
 * Everything stays in 198.18.0.0/15 and fd00::/8 like the lab.
 *
 * usage: bun scripts/bench/policy-set-large.ts DIR [--policies 1000] [--peers 500] [--sets 100] [--members N]
 *        writes the manifests into DIR (created), prints what it wrote
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sizeFromArgs, type PolicySetSize } from './policy-set.ts';

export type LargeSetSize = PolicySetSize;

export const LARGE_SIZE: LargeSetSize = { policies: 1000, peers: 500, sets: 100 };
export const RULES_PER_POLICY = 10;
export const POLICIES_PER_FILE = 100;

const ROLES = ['web', 'db', 'cache', 'monitor', 'bastion', 'batch'] as const;
const KINDS = ['partner', 'scanner', 'office', 'vpn'] as const;
const APPS = 100;
const GW_SELECTORS = [`role == 'gw'`, `env == 'prod'`, `role == 'gw' && zone == 'z1'`, `has(role) && !has(decommissioned)`];

type Obj = Record<string, unknown>;

const doc = (kind: string, name: string, spec: Obj, labels?: Record<string, string>): Obj => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: labels ? { name, labels } : { name },
  spec,
});

/** Block-style YAML, one document per resource, as calicoctl users write it. */
const yamlDocs = (docs: readonly Obj[]): string => docs.map((d) => `---\n${Bun.YAML.stringify(d, null, 2).trimEnd()}\n`).join('');

/** A peer's addresses: 198.19.x.y and fd00:19::n, unique per index. */
const peerAddrs = (i: number): string[] => [`198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`, ...(i % 10 === 0 ? [`fd00:19::${(i + 1).toString(16)}`] : [])];

/** Policy i: 10 rules, all selecting gw. `port` shifts its first port (the policy-change benchmark edits it). */
export function largePolicy(i: number, port = 1000 + i): Obj {
  const tier = i % 5 === 0 ? 'security' : i % 5 === 1 ? 'platform' : undefined;
  const role = ROLES[i % ROLES.length]!;
  const app = `app${i % APPS}`;
  const spec: Obj = {
    ...(tier ? { tier } : {}),
    order: 100 + i,
    selector: GW_SELECTORS[i % GW_SELECTORS.length],
    ingress: [
      { action: 'Allow', protocol: 'TCP', source: { selector: `role == '${role}' && zone == 'z${(i % 4) + 1}'` }, destination: { ports: [port, `${20000 + i}:${20010 + i}`] } },
      { action: 'Allow', protocol: 'TCP', source: { selector: `app == '${app}' && env == 'prod'` }, destination: { ports: [8000 + (i % 100)] } },
      { action: 'Allow', protocol: 'UDP', source: { nets: [`198.18.${200 + (i % 50)}.0/24`, `198.19.${100 + (i % 50)}.0/24`] }, destination: { ports: [5000 + i] } },
      { action: 'Allow', protocol: 'TCP', source: { nets: [`fd00:${(i + 0x100).toString(16)}::/64`] }, destination: { ports: [443] } },
      { action: 'Deny', source: { selector: `kind == '${KINDS[i % KINDS.length]}'` } },
      { action: 'Allow', protocol: 'ICMP', source: { selector: `env == 'prod' && role != 'batch'` } },
      { action: 'Allow', protocol: 'TCP', source: { selector: `role == 'bastion'` }, destination: { ports: [22] } },
    ],
    egress: [
      { action: 'Allow', protocol: 'TCP', destination: { selector: `role == 'db'`, ports: [5432 + (i % 4)] } },
      { action: 'Allow', protocol: 'TCP', destination: { selector: `role == 'web'`, ports: ['http'] } },
      { action: 'Allow', protocol: 'UDP', destination: { nets: [`198.18.${100 + (i % 20)}.53/32`], ports: [53] } },
    ],
  };
  return doc('GlobalNetworkPolicy', `pol${String(i).padStart(4, '0')}`, spec);
}

export const policyName = (i: number) => `pol${String(i).padStart(4, '0')}`;
/** The file that holds policy i. */
export const policyFile = (i: number) => `policies-${String(Math.floor(i / POLICIES_PER_FILE)).padStart(2, '0')}.yaml`;

/** The YAML of one policies file: policies [from, from + POLICIES_PER_FILE), with `edit` applied. */
export function policyFileYaml(first: number, size: LargeSetSize, edit?: (i: number) => Obj | undefined): string {
  const docs: Obj[] = [];
  for (let i = first; i < Math.min(first + POLICIES_PER_FILE, size.policies); i++) docs.push(edit?.(i) ?? largePolicy(i));
  return yamlDocs(docs);
}

/** File name → YAML, the whole set. */
export function largeSetFiles(size: LargeSetSize = LARGE_SIZE): Map<string, string> {
  const files = new Map<string, string>();
  files.set(
    'base.yaml',
    yamlDocs([
      doc('Tier', 'security', { order: 100 }),
      doc('Tier', 'platform', { order: 200, defaultAction: 'Pass' }),
      doc('Profile', 'base', { ingress: [{ action: 'Allow', protocol: 'ICMP' }], egress: [{ action: 'Allow' }] }),
      doc('HostEndpoint', 'gw-eth1', { node: 'gw', interfaceName: 'eth1', expectedIPs: ['198.18.1.1'], profiles: ['base'] }, { role: 'gw', env: 'prod', zone: 'z1' }),
      doc('HostEndpoint', 'gw-eth2', { node: 'gw', interfaceName: 'eth2', expectedIPs: ['198.18.2.1'], profiles: ['base'] }, { role: 'gw', env: 'prod', zone: 'z1' }),
    ]),
  );
  const peers: Obj[] = [];
  for (let i = 0; i < size.peers; i++) {
    const role = ROLES[i % ROLES.length]!;
    const labels = { role, env: i % 3 === 0 ? 'staging' : 'prod', zone: `z${(i % 4) + 1}`, app: `app${i % APPS}` };
    const ports = role === 'web' ? [{ name: 'http', protocol: 'TCP', port: 8080 + (i % 3) }] : [];
    const name = `peer${String(i).padStart(4, '0')}`;
    peers.push(doc('HostEndpoint', `${name}-eth0`, { node: name, interfaceName: 'eth0', expectedIPs: peerAddrs(i), ports }, labels));
  }
  files.set('peers.yaml', yamlDocs(peers));
  const sets: Obj[] = [];
  for (let i = 0; i < size.sets; i++) {
    // 4 prefixes and 3 host addresses per set: real sets mix both.
    const net = `198.18.${128 + (i % 100)}`;
    const nets = [0, 32, 64, 96].map((o) => `${net}.${o}/27`).concat([130, 131, 132].map((h) => `${net}.${h}/32`), `fd00:80:${i.toString(16)}::/48`);
    sets.push(doc('GlobalNetworkSet', `set${String(i).padStart(3, '0')}`, { nets }, { kind: KINDS[i % KINDS.length]! }));
  }
  files.set('sets.yaml', yamlDocs(sets));
  for (let first = 0; first < size.policies; first += POLICIES_PER_FILE) files.set(policyFile(first), policyFileYaml(first, size));
  return files;
}

/** Writes the set into `dir` (created); returns the file names. */
export async function writeLargeSet(dir: string, size: LargeSetSize = LARGE_SIZE): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = largeSetFiles(size);
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return [...files.keys()];
}

/** Host address number i in 198.18.0.0/15 (i < 131,072). */
export function memberAddr(i: number): string {
  if (i < 0 || i >= 131_072) throw new Error(`member ${i} is outside 198.18.0.0/15`);
  return `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

/** The big GlobalNetworkSet: members [0, n) as /32s, in flow style (one line per member would triple the file). */
export function memberSetYaml(n: number): string {
  const nets = Array.from({ length: n }, (_, i) => `"${memberAddr(i)}/32"`);
  return `---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: members\n  labels:\n    kind: members\nspec:\n  nets:\n${nets.map((x) => `    - ${x}`).join('\n')}\n`;
}

/** The policy that puts the big set into gw's ruleset. */
export function memberPolicyYaml(): string {
  return yamlDocs([doc('GlobalNetworkPolicy', 'deny-members', { order: 10, selector: `role == 'gw'`, ingress: [{ action: 'Deny', source: { selector: `kind == 'members'` } }] })]);
}

export function describeLarge(size: LargeSetSize = LARGE_SIZE): string {
  return `${size.policies} GlobalNetworkPolicies × ${RULES_PER_POLICY} rules (${size.policies * RULES_PER_POLICY} rules, 3 tiers, ${Math.ceil(size.policies / POLICIES_PER_FILE)} files), 2 HEPs on gw + ${size.peers} peer HEPs, ${size.sets} GlobalNetworkSets × 8 CIDRs, 1 profile (scripts/bench/policy-set-large.ts)`;
}

/** `--policies/--peers/--sets` over LARGE_SIZE, and a suffix naming a non-default size (for result blocks). */
export function largeSizeFromArgs(args: ReadonlyMap<string, string | true>): { size: LargeSetSize; suffix: string } {
  return sizeFromArgs(args, LARGE_SIZE);
}

if (import.meta.main) {
  const { parseArgs } = await import('./lib.ts');
  const [dir, ...rest] = process.argv.slice(2);
  if (!dir || dir.startsWith('--')) throw new Error('usage: bun scripts/bench/policy-set-large.ts DIR [--policies N] [--peers N] [--sets N] [--members N]');
  const args = parseArgs(rest);
  const { size } = largeSizeFromArgs(args);
  const names = await writeLargeSet(dir, size);
  const members = args.get('members');
  if (typeof members === 'string') {
    await writeFile(join(dir, 'members.yaml'), memberSetYaml(Number(members)) + memberPolicyYaml());
    names.push('members.yaml');
  }
  console.log(`${describeLarge(size)}\nwritten to ${dir}: ${names.join(' ')}`);
}
