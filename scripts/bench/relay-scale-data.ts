/**
 * The synthetic datastore of relay-scale.ts, deterministic for a node count:
 *
 * - NODES nodes, one HEP each (`n<i>-eth0`, one address in 198.18.0.0/15), labelled
 *   host=n<i>, role (20 roles), zone (50 zones)
 * - 500 GlobalNetworkSets of 100 addresses each: 50,000 set members (198.19.0.0/16), labelled
 *   feed=f<k>
 * - 2,000 GlobalNetworkPolicies in three tiers: 20 per role, 50 per zone, 1,928 per (role, zone)
 *   pair, so each node is selected by about four of them; each has three rules: from a feed set
 *   (100 addresses), from the monitors of the same zone (a HEP set), and an egress to a net.
 *   Plus `bench-all` (selects every node) and `bench-one` (selects node n0 only), whose port
 *   the benchmark rewrites: a one-node change and an every-node change.
 *
 * Resources are validated as the datastore would (validateResource), so the relay sees what an
 * etcd or folder source would hand it.
 */
import { validateResource } from '../../src/model/validate.ts';
import type { Resource } from '../../src/model/resource.ts';

export const POLICIES = 2_000;
export const SETS = 500;
export const SET_SIZE = 100;
const ROLES = Array.from({ length: 20 }, (_, i) => `r${i}`);
const ZONES = Array.from({ length: 50 }, (_, i) => `z${i}`);
const TIERS = ['security', 'platform', 'default'];

function valid(raw: Record<string, unknown>): Resource {
  const r = validateResource({ apiVersion: 'projectcalico.org/v3', ...raw }, 'bench');
  if (!r.ok) throw new Error(`${JSON.stringify(raw).slice(0, 200)}: ${JSON.stringify(r.errors[0])}`);
  return r.resource;
}

const addr = (base: number, i: number) => `198.${base + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

export function benchPolicy(name: 'bench-all' | 'bench-one', port: number): Resource {
  return valid({
    kind: 'GlobalNetworkPolicy',
    metadata: { name },
    spec: { order: 1, selector: name === 'bench-all' ? 'has(host)' : "host == 'n0'", ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['198.18.0.0/15'] }, destination: { ports: [port] } }] },
  });
}

function policy(p: number): Resource {
  let selector: string;
  let zone: string;
  if (p < ROLES.length) ((selector = `role == '${ROLES[p]}'`), (zone = ZONES[p % ZONES.length]!));
  else if (p < ROLES.length + ZONES.length) ((zone = ZONES[p - ROLES.length]!), (selector = `zone == '${zone}'`));
  else {
    const c = p % (ROLES.length * ZONES.length);
    zone = ZONES[Math.floor(c / ROLES.length)]!;
    selector = `role == '${ROLES[c % ROLES.length]}' && zone == '${zone}'`;
  }
  const tier = TIERS[p % TIERS.length]!;
  return valid({
    kind: 'GlobalNetworkPolicy',
    metadata: { name: tier === 'default' ? `pol-${p}` : `${tier}.pol-${p}` },
    spec: {
      tier,
      order: 100 + (p % 500),
      selector,
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { selector: `feed == 'f${p % SETS}'` }, destination: { ports: [443, 8000 + (p % 100)] } },
        { action: 'Allow', protocol: 'TCP', source: { selector: `role == 'r0' && zone == '${zone}'` }, destination: { ports: [9100] } },
      ],
      egress: [{ action: 'Allow', protocol: 'UDP', destination: { nets: [`198.18.${p % 256}.0/24`], ports: [53] } }],
    },
  });
}

export function benchResources(nodes: number): Resource[] {
  const out: Resource[] = [];
  out.push(valid({ kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100 } }), valid({ kind: 'Tier', metadata: { name: 'platform' }, spec: { order: 200, defaultAction: 'Pass' } }));
  for (let i = 0; i < nodes; i++) {
    out.push(valid({
      kind: 'HostEndpoint',
      metadata: { name: `n${i}-eth0`, labels: { host: `n${i}`, role: ROLES[i % ROLES.length]!, zone: ZONES[Math.floor(i / ROLES.length) % ZONES.length]! } },
      spec: { node: `n${i}`, interfaceName: 'eth0', expectedIPs: [addr(18, i)] },
    }));
  }
  for (let k = 0; k < SETS; k++) {
    out.push(valid({ kind: 'GlobalNetworkSet', metadata: { name: `feed-${k}`, labels: { feed: `f${k}` } }, spec: { nets: Array.from({ length: SET_SIZE }, (_, j) => `${addr(19, k * SET_SIZE + j)}/32`) } }));
  }
  for (let p = 0; p < POLICIES - 2; p++) out.push(policy(p));
  out.push(benchPolicy('bench-all', 10_000), benchPolicy('bench-one', 10_000));
  return out;
}
