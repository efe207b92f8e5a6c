/**
 * The demo's story: the site's addresses, the Calico resources in the relay's folder, the two
 * edits, and every connection the table shows with what the policies say should happen to it
 * at each step. The expectations live here, next to the policies that justify them, so a
 * reader can check one against the other; the demo probes with real packets and flags any cell
 * where the kernel disagrees.
 */
import type { Probe } from '../../test/lab/lab.ts';

/** Each leaf host sits on its own /24 behind gw (198.18.N.1); the leaf is .10. */
export const NETS = { admin: 1, internet: 2, web: 3, db: 4, hub: 5 } as const;
export type Leaf = keyof typeof NETS;
export const leafAddr = (h: Leaf) => `198.18.${NETS[h]}.10`;
export const gwAddr = (h: Leaf) => `198.18.${NETS[h]}.1`;
export const gwIf = (h: Leaf) => `eth${NETS[h]}`;

export const BROKER_PORT = 1883;
/** Hosts that run `outpost agent` (each is also its node name). */
export const NODES = ['gw', 'web', 'db'] as const;
export type Node = (typeof NODES)[number];

/** What listens where, so "before outpost" shows every connection getting through. */
export const SERVICES: Record<string, number[]> = { gw: [22], web: [22, 80, 443], db: [22, 5432] };

const yaml = (docs: string[]) => docs.map((d) => `apiVersion: projectcalico.org/v3\n${d.trim()}\n`).join('---\n');

/** file name → contents of the relay's folder at the start. */
export const RESOURCES: Record<string, string> = {
  // Every HEP carries the default-allow profile: a direction no policy selects (here, all
  // egress) falls through to profiles, and with none it would be dropped.
  'hosts.yaml': yaml([
    `kind: HostEndpoint
metadata: {name: gw, labels: {role: gateway}}
spec: {node: gw, interfaceName: '*', profiles: [projectcalico-default-allow]}`,
    `kind: HostEndpoint
metadata: {name: web, labels: {role: web}}
spec: {node: web, interfaceName: eth0, expectedIPs: ['${leafAddr('web')}'], profiles: [projectcalico-default-allow]}`,
    `kind: HostEndpoint
metadata: {name: db, labels: {role: db}}
spec: {node: db, interfaceName: eth0, expectedIPs: ['${leafAddr('db')}'], profiles: [projectcalico-default-allow]}`,
  ]),
  'admin-net.yaml': yaml([
    `kind: GlobalNetworkSet
metadata: {name: admin-net, labels: {net: admin}}
spec: {nets: ['198.18.${NETS.admin}.0/24']}`,
  ]),
  'blocklist.yaml': yaml([
    `kind: GlobalNetworkSet
metadata: {name: blocklist, labels: {net: blocklist}}
spec: {nets: []}`,
  ]),
  // A tier ahead of the default one: what it denies, no policy in a later tier can allow.
  // applyOnForward also makes gw drop the blocklist's traffic to the hosts behind it.
  'security.yaml': yaml([
    `kind: Tier
metadata: {name: security}
spec: {order: 100}`,
    `kind: GlobalNetworkPolicy
metadata: {name: blocklist}
spec:
  tier: security
  selector: has(role)
  applyOnForward: true
  ingress:
    - {action: Deny, source: {selector: net == 'blocklist'}}
    - {action: Pass}`,
  ]),
  'access.yaml': yaml([
    `kind: GlobalNetworkPolicy
metadata: {name: ssh-from-admin-ping-from-all}
spec:
  selector: has(role)
  ingress:
    - {action: Allow, protocol: TCP, source: {selector: net == 'admin'}, destination: {ports: [22]}}
    - {action: Allow, protocol: ICMP}`,
  ]),
  'web.yaml': yaml([
    `kind: GlobalNetworkPolicy
metadata: {name: web-public}
spec:
  selector: role == 'web'
  ingress:
    - {action: Allow, protocol: TCP, destination: {ports: [80, 443]}}`,
  ]),
  // The source selector names the web HEP, so the relay resolves it to web's expectedIPs.
  'db.yaml': yaml([
    `kind: GlobalNetworkPolicy
metadata: {name: db-from-web}
spec:
  selector: role == 'db'
  ingress:
    - {action: Allow, protocol: TCP, source: {selector: role == 'web'}, destination: {ports: [5432]}}`,
  ]),
  // Felix's default inbound failsafes let tcp/22 in from anywhere, which would make
  // "ssh only from the admin net" a lie. The agent still adds its own path to the broker.
  'felix.yaml': yaml([
    `kind: FelixConfiguration
metadata: {name: default}
spec: {failsafeInboundHostPorts: []}`,
  ]),
};

/** One line per file for the printed summary. */
export const RESOURCE_SUMMARY: [string, string][] = [
  ['hosts.yaml', "HostEndpoints gw (every interface), web and db (eth0), labelled role=..."],
  ['admin-net.yaml', `GlobalNetworkSet admin-net: 198.18.${NETS.admin}.0/24`],
  ['blocklist.yaml', 'GlobalNetworkSet blocklist: empty for now'],
  ['security.yaml', 'Tier security (order 100, ahead of default): deny the blocklist, pass the rest'],
  ['access.yaml', 'every host: ssh only from admin-net, ping from anywhere'],
  ['web.yaml', 'web: tcp/80 and tcp/443 from anywhere'],
  ['db.yaml', "db: tcp/5432 only from role == 'web'"],
  ['felix.yaml', "FelixConfiguration: no inbound failsafe ports (Felix's default opens tcp/22 to all)"],
];

/** Step 3, made while the relay runs. */
export const EDIT_HTTPS_ONLY = { file: 'web.yaml', text: RESOURCES['web.yaml']!.replace('ports: [80, 443]', 'ports: [443]') };
/** Step 4, made while the relay is stopped. */
export const EDIT_BLOCK_INTERNET = { file: 'blocklist.yaml', text: RESOURCES['blocklist.yaml']!.replace('nets: []', `nets: ['${leafAddr('internet')}/32']`) };

export const STEPS = [
  { key: 'before', head: 'before' },
  { key: 'enforced', head: 'enforced' },
  { key: 'edited', head: 'edited' },
  { key: 'relay-down', head: 'relay down' },
  { key: 'restarted', head: 'restarted' },
  { key: 'converged', head: 'relay back' },
] as const;

export interface Flow {
  readonly from: string;
  readonly to: string;
  readonly what: string;
  readonly probe: Probe;
  /** One letter per step, A(llowed) or D(enied), in STEPS order. */
  readonly expect: string;
}

const tcp = (from: Leaf, to: 'gw' | Leaf, port: number, what: string, expect: string): Flow => ({
  from,
  to,
  what: `tcp/${port} ${what}`,
  // gw is reached on its address in the client's own net.
  probe: { kind: 'tcp', host: to === 'gw' ? gwAddr(from) : leafAddr(to), port },
  expect,
});

/** `expect`: before, enforced, edited (HTTPS only), relay down, restarted from cache, relay back. */
export const FLOWS: readonly Flow[] = [
  tcp('internet', 'web', 80, 'http', 'AADDDD'),
  tcp('internet', 'web', 443, 'https', 'AAAAAD'),
  tcp('internet', 'web', 22, 'ssh', 'ADDDDD'),
  tcp('internet', 'gw', 22, 'ssh', 'ADDDDD'),
  tcp('internet', 'db', 5432, 'postgres', 'ADDDDD'),
  { from: 'internet', to: 'db', what: 'ping', probe: { kind: 'icmp', host: leafAddr('db') }, expect: 'AAAAAD' },
  tcp('admin', 'gw', 22, 'ssh', 'AAAAAA'),
  tcp('admin', 'web', 22, 'ssh', 'AAAAAA'),
  tcp('admin', 'db', 22, 'ssh', 'AAAAAA'),
  tcp('admin', 'db', 5432, 'postgres', 'ADDDDD'),
  tcp('web', 'db', 5432, 'postgres', 'AAAAAA'),
  tcp('web', 'db', 22, 'ssh', 'ADDDDD'),
];
