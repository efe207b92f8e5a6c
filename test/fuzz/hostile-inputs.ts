/**
 * Hostile inputs for outpost's four external parsers, generated from a seed so any failure names
 * the seed that reproduces it: manifests (the folder datastore, validate, apply), etcd values (the
 * relay's etcd source), selectors, and MQTT snapshot payloads (the agent).
 *
 * Each generator mixes mutations of valid input (a typo, a value swapped for an odd one, a cut)
 * with the structural attacks an adversary reaches for first: deep nesting, alias bombs, huge
 * lists, long strings, binary junk. `scale` sizes the big ones: the unit test runs small, the
 * reliability script runs them at the sizes the issue names.
 */

import { prng, type Rand } from '../lab/prng.ts';

export { prng, type Rand };

const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

export interface Scale {
  /** Nesting depth of the deep inputs. */
  readonly depth: number;
  /** Entries in the huge lists. */
  readonly items: number;
  /** Characters of the long strings. */
  readonly chars: number;
}

export const SMALL: Scale = { depth: 5_000, items: 20_000, chars: 20_000 };
/** The sizes the hostile-input report used: 100k deep, a million ports, 20k-character selectors. */
export const ISSUE: Scale = { depth: 100_000, items: 1_000_000, chars: 20_000 };

const HEP = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'HostEndpoint',
  metadata: { name: 'gw-eth0', labels: { role: 'gw' } },
  spec: { node: 'gw', interfaceName: 'eth0', expectedIPs: ['198.18.0.1'], profiles: ['p'], ports: [{ name: 'web', protocol: 'TCP', port: 8080 }] },
};
const GNP = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'allow-office' },
  spec: {
    order: 10,
    selector: "role == 'gw'",
    types: ['Ingress', 'Egress'],
    ingress: [
      { action: 'Allow', protocol: 'TCP', source: { selector: "role == 'office'", nets: ['198.18.8.0/24'] }, destination: { ports: [443, 'web', '8000:8100'] } },
      { action: 'Deny', protocol: 'ICMP', icmp: { type: 8, code: 0 } },
    ],
    egress: [{ action: 'Allow' }],
  },
};
const GNS = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'office', labels: { role: 'office' } }, spec: { nets: ['198.18.8.0/24', 'fd00:8::/64'] } };
const FELIX = { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22 }] } };
export const VALID_RESOURCES: readonly object[] = [HEP, GNP, GNS, FELIX];

const ODD: readonly unknown[] = [null, true, false, 0, -1, 1.5, 65536, 1e308, -0, 9007199254740993, '', ' ', 'x', '\u0000', '\ud800', '💥', '../../etc/passwd', '*', '@evil', 'eth*', '{}', '[]', [], {}, [null], [[[]]], { '': '' }, { __proto__: { polluted: true } }, { constructor: { prototype: {} } }];

/** Replaces, deletes or renames one value somewhere in the structure. */
export function mutate(value: unknown, rand: Rand): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || rand() < 0.1) return pick(rand, ODD);
    const copy = [...value];
    const i = Math.floor(rand() * copy.length);
    if (rand() < 0.1) copy.splice(i, 1);
    else if (rand() < 0.1) copy.push(pick(rand, ODD));
    else copy[i] = mutate(copy[i], rand);
    return copy;
  }
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    if (keys.length === 0 || rand() < 0.1) return pick(rand, ODD);
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const k = pick(rand, keys);
    const r = rand();
    if (r < 0.1) delete copy[k];
    else if (r < 0.2) {
      // A typo: one letter dropped, doubled, or its case changed.
      const at = Math.floor(rand() * k.length);
      const typo = rand() < 0.5 ? k.slice(0, at) + k.slice(at + 1) : k.slice(0, at) + k.charAt(at).toUpperCase() + k.charAt(at) + k.slice(at + 1);
      copy[typo] = copy[k];
      delete copy[k];
    } else copy[k] = mutate(copy[k], rand);
    return copy;
  }
  return pick(rand, ODD);
}

function nestedJson(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function yamlAliasBomb(levels: number): string {
  // Each anchor refers to the previous one ten times: 10^levels nodes once expanded.
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  return `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: bomb}\n${lines.join('\n')}\nspec:\n  nets: *a${levels - 1}\n`;
}

function hugePorts(items: number): string {
  const ports = Array.from({ length: items }, (_, i) => (i % 3 === 0 ? 70000 + i : i % 3 === 1 ? `${i}:1` : `bad-${i}`)).join(',');
  return `{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"ports"},"spec":{"ingress":[{"action":"Allow","protocol":"TCP","destination":{"ports":[${ports.split(',').map((p) => (/^\d+$/.test(p) ? p : JSON.stringify(p))).join(',')}]}}]}}`;
}

/** Named structural attacks, each a manifest text. */
export function structuralManifests(scale: Scale): { name: string; text: string }[] {
  const longSel = `role == '${'a'.repeat(scale.chars)}'`;
  return [
    { name: `JSON nested ${scale.depth} deep`, text: nestedJson(scale.depth, '[', ']') },
    { name: `JSON objects nested ${scale.depth} deep`, text: nestedJson(scale.depth, '{"a":', '}') },
    { name: `YAML flow nested ${scale.depth} deep`, text: `apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: deep}\nspec: ${nestedJson(scale.depth, '[', ']')}\n` },
    { name: 'YAML alias bomb (10^9 nodes)', text: yamlAliasBomb(9) },
    { name: `${scale.items} invalid ports`, text: hugePorts(scale.items) },
    { name: `${scale.chars}-character selector`, text: JSON.stringify({ ...GNP, spec: { ...GNP.spec, selector: longSel } }) },
    { name: `selector nested ${Math.min(scale.depth, 20_000)} parentheses deep`, text: JSON.stringify({ ...GNP, spec: { ...GNP.spec, selector: nestedJson(Math.min(scale.depth, 20_000), '(', ')', 'all()') } }) },
    { name: 'duplicate JSON keys', text: '{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkSet","metadata":{"name":"a","name":"b"},"spec":{"nets":[],"nets":["0.0.0.0/0"]}}' },
    { name: 'binary junk', text: String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)) },
    { name: 'a YAML tag that names code', text: 'apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: !!js/function "function(){}"\n' },
    { name: 'a truncated manifest', text: JSON.stringify(GNP).slice(0, 77) },
    { name: 'a BOM and CRLF line ends', text: `\ufeff${'apiVersion: projectcalico.org/v3\r\nkind: GlobalNetworkSet\r\nmetadata: {name: a}\r\n'}` },
    { name: '10,000 empty documents', text: '---\n'.repeat(10_000) },
  ];
}

/** A mutated valid manifest (YAML or JSON text), or a structural attack now and then. */
export function hostileManifest(rand: Rand, scale: Scale): string {
  const docs = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => mutate(pick(rand, VALID_RESOURCES), rand));
  const text = rand() < 0.5 ? JSON.stringify(docs.length === 1 ? docs[0] : docs) : docs.map((d) => JSON.stringify(d)).join('\n---\n');
  if (rand() < 0.1) return text.slice(0, Math.floor(rand() * text.length)); // cut mid-write
  if (rand() < 0.03) return pick(rand, structuralManifests({ ...scale, depth: Math.min(scale.depth, 2_000), items: Math.min(scale.items, 2_000) })).text;
  return text;
}

/** An etcd value as another writer (or an attacker with etcd access) might leave it. */
export function hostileEtcdValue(rand: Rand, scale: Scale): string {
  const r = rand();
  if (r < 0.05) return nestedJson(Math.min(scale.depth * 2, 200_000), '[', ']');
  if (r < 0.1) return nestedJson(Math.min(scale.depth, 50_000), '{"spec":', '}');
  if (r < 0.15) return String.fromCharCode(...Array.from({ length: 64 }, () => Math.floor(rand() * 256)));
  const v = mutate(pick(rand, VALID_RESOURCES), rand);
  const text = JSON.stringify(v) ?? 'null';
  return rand() < 0.1 ? text.slice(0, Math.floor(rand() * text.length)) : text;
}

const SELECTOR_TOKENS = ['role', "'gw'", '"x"', '==', '!=', 'in', 'not in', '{', '}', ',', '(', ')', '&&', '||', '!', 'has(', 'all()', 'global()', 'starts with', 'ends with', 'contains', '\\', "'", '"', ' ', 'projectcalico.org/namespace', '🚀'];

export function hostileSelector(rand: Rand, scale: Scale): string {
  const r = rand();
  if (r < 0.02) return nestedJson(Math.min(scale.depth, 20_000), '(', ')', 'all()');
  if (r < 0.04) return `${'!'.repeat(Math.min(scale.depth, 20_000))}all()`;
  if (r < 0.06) return `role == '${'x'.repeat(scale.chars)}'`;
  if (r < 0.08) return Array.from({ length: 2_000 }, (_, i) => `a${i} == 'x'`).join(' && ');
  return Array.from({ length: 1 + Math.floor(rand() * 12) }, () => pick(rand, SELECTOR_TOKENS)).join(rand() < 0.5 ? ' ' : '');
}
