/**
 * One node with a large policy: POLICIES GlobalNetworkPolicies × RULES rules each, all selecting
 * node "gw" (default 1,000 × 10, the reference node: about 1.5 MB of canonical plan JSON).
 * Rules mix what real policy has: selector sources and destinations (resolved to sets of peer
 * addresses), literal nets, port lists and ranges, named ports, ICMP, Deny and Pass.
 *
 * Everything stays in 198.18.0.0/15 and fd00::/8, like the lab.
 *
 * usage: bun scripts/bench/large-node.ts [--policies 1000] [--rules 10]   (prints the YAML)
 */
export interface LargeNodeSize {
  readonly policies: number;
  readonly rules: number;
  readonly peers: number;
}

export const LARGE_NODE: LargeNodeSize = { policies: 1000, rules: 10, peers: 200 };

const ROLES = ['web', 'db', 'cache', 'monitor', 'bastion', 'batch'] as const;
const j = (x: unknown) => JSON.stringify(x);

function doc(kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): string {
  return `---\n${j({ apiVersion: 'projectcalico.org/v3', kind, metadata: labels ? { name, labels } : { name }, spec })}\n`;
}

/** Rule k of policy i: ten shapes, cycled, so every policy has a realistic mix. */
function rule(i: number, k: number): Record<string, unknown> {
  const role = ROLES[(i + k) % ROLES.length]!;
  const port = 1024 + ((i * 10 + k) % 60000);
  switch (k % 10) {
    case 0: return { action: 'Allow', protocol: 'TCP', source: { selector: `role == '${role}'` }, destination: { ports: [port, `${port + 1}:${port + 9}`] } };
    case 1: return { action: 'Allow', protocol: 'UDP', source: { nets: [`198.18.${(i % 200) + 20}.0/24`, `198.19.${(i % 200) + 20}.128/25`] }, destination: { ports: [port] } };
    case 2: return { action: 'Deny', protocol: 'TCP', source: { selector: `zone == 'z${(i % 4) + 1}' && role != '${role}'` }, destination: { ports: [port] } };
    case 3: return { action: 'Allow', protocol: 'ICMP', icmp: { type: 8 }, source: { selector: `env == 'prod'` } };
    case 4: return { action: 'Allow', protocol: 'TCP', source: { nets: [`198.19.${i % 250}.0/25`] }, destination: { ports: [22, 443, port] } };
    case 5: return { action: 'Pass', source: { selector: `role == 'bastion'` } };
    case 6: return { action: 'Allow', protocol: 'TCP', destination: { selector: `role == 'web'`, ports: ['http'] } };
    case 7: return { action: 'Allow', protocol: 'TCP', destination: { selector: `role == '${role}'`, ports: [port] } };
    case 8: return { action: 'Allow', protocol: 'UDP', destination: { nets: [`198.18.${(i % 100) + 100}.${(k * 16) % 256}/28`], ports: [53, 123] } };
    default: return { action: 'Deny', protocol: 'TCP', destination: { notNets: ['198.18.0.0/16', '198.19.0.0/16'], notPorts: [port] } };
  }
}

export function largeNodeYaml(size: LargeNodeSize = LARGE_NODE): string {
  const out: string[] = [];
  const gw = { role: 'gw', env: 'prod', zone: 'z1' };
  out.push(doc('HostEndpoint', 'gw-eth1', { node: 'gw', interfaceName: 'eth1', expectedIPs: ['198.18.1.1'] }, gw));
  out.push(doc('HostEndpoint', 'gw-eth2', { node: 'gw', interfaceName: 'eth2', expectedIPs: ['198.18.2.1'] }, gw));
  for (let i = 0; i < size.peers; i++) {
    const role = ROLES[i % ROLES.length]!;
    const labels = { role, env: i % 3 === 0 ? 'staging' : 'prod', zone: `z${(i % 4) + 1}` };
    const ports = role === 'web' ? [{ name: 'http', protocol: 'TCP', port: 8080 + (i % 3) }] : [];
    const addrs = [`198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`, `fd00:19::${(i + 1).toString(16)}`];
    out.push(doc('HostEndpoint', `peer${i}-eth0`, { node: `peer${i}`, interfaceName: 'eth0', expectedIPs: addrs, ports }, labels));
  }
  // Ingress rules first, egress after: shapes 0-5 are ingress, 6-9 egress (10 rules: 6 + 4).
  for (let i = 0; i < size.policies; i++) {
    const rules = Array.from({ length: size.rules }, (_, k) => rule(i, k));
    const ingress = rules.filter((_, k) => k % 10 < 6);
    const egress = rules.filter((_, k) => k % 10 >= 6);
    out.push(doc('GlobalNetworkPolicy', `pol${String(i).padStart(4, '0')}`, { order: 100 + i, selector: `role == 'gw'`, ingress, egress }));
  }
  return out.join('');
}

/** One line for the doc. */
export function describeLargeNode(size: LargeNodeSize = LARGE_NODE): string {
  return `node gw: ${size.policies} GlobalNetworkPolicies × ${size.rules} rules (${size.policies * size.rules} rules), 2 HEPs, ${size.peers} peer HEPs`;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const num = (flag: string, d: number) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv[i + 1]) : d;
  };
  process.stdout.write(largeNodeYaml({ ...LARGE_NODE, policies: num('--policies', LARGE_NODE.policies), rules: num('--rules', LARGE_NODE.rules) }));
}
