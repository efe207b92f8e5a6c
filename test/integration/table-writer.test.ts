/**
 * Differential test of the incremental table writer against full re-creates, with the real nft.
 *
 * Seeded random sequences of resource changes (set members added and removed, hosts and
 * prefixes, IPv4 and IPv6, sets emptied, created and deleted; policies and profiles changed,
 * added and removed; host endpoints added, removed and re-profiled) are rendered; each step is
 * applied through the Enforcer (deltas; never a full re-create unless a delta fails) in one
 * namespace and as a full re-create document in another. After every step the two kernels'
 * `nft -j list table inet outpost` must be identical (handles and counters left out, hash-set
 * elements compared as sets). Fails when a delta drops, duplicates or misorders anything.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Lab } from '../lab/lab.ts';
import { isRoot } from './harness.ts';
import { enforcerIn, normalisedTable, nftIn, renderYaml, resource, seeded } from './table-writer-lab.ts';
import { NftRunner } from '../../src/nft/runner.ts';
import { fullDocument } from '../../src/render/table-model.ts';
import { createStamp, tableStamp } from '../../src/nft/stamp.ts';

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

const HOSTS4 = Array.from({ length: 40 }, (_, i) => `198.18.${100 + (i % 4)}.${10 + i}/32`);
const HOSTS6 = Array.from({ length: 20 }, (_, i) => `fd00:64::${(i + 1).toString(16)}/128`);
const PREFIXES = ['198.18.100.0/24', '198.18.100.128/25', '198.18.104.0/22', '198.18.110.0/24', 'fd00:65::/64', 'fd00:65::/48', 'fd00:66::/64'];
const ACTIONS = ['Allow', 'Deny', 'Log', 'Pass'] as const;

interface World {
  sets: Map<string, Set<string>>;
  policies: Map<string, unknown[]>;
  profiles: Map<string, unknown[]>;
  heps: Map<string, { iface: string; profiles: string[] }>;
}

function randomRule(rng: Rng, w: World): unknown {
  const sets = [...w.sets.keys()];
  const action = pick(rng, ACTIONS);
  const port = pick(rng, [22, 80, 443, 8080]);
  const set = sets.length ? pick(rng, sets) : undefined;
  switch (Math.floor(rng() * 5)) {
    case 0: return { action, protocol: 'TCP', destination: { ports: [port] } };
    case 1: return set ? { action, protocol: 'TCP', source: { selector: `kind == '${set}'` }, destination: { ports: [port] } } : { action };
    case 2: return set ? { action, source: { notSelector: `kind == '${set}'` } } : { action, protocol: 'UDP' };
    case 3: return { action, source: { nets: [pick(rng, PREFIXES.slice(0, 4)), pick(rng, HOSTS4)] } };
    default: return set && sets.length > 1 ? { action, source: { selector: `kind == '${set}'` }, destination: { selector: `kind == '${pick(rng, sets)}'` } } : { action: 'Allow', protocol: 'ICMP' };
  }
}

function mutate(rng: Rng, w: World): string {
  const r = rng();
  const sets = [...w.sets.keys()];
  if (r < 0.45 && sets.length) {
    const name = pick(rng, sets);
    const members = w.sets.get(name)!;
    const pool = rng() < 0.7 ? (rng() < 0.7 ? HOSTS4 : HOSTS6) : PREFIXES;
    const m = pick(rng, pool);
    if (members.has(m)) members.delete(m);
    else members.add(m);
    return `member ${m} in ${name}`;
  }
  if (r < 0.5 && sets.length) {
    w.sets.get(pick(rng, sets))!.clear();
    return 'set emptied';
  }
  if (r < 0.56) {
    const name = `k${Math.floor(rng() * 6)}`;
    if (w.sets.has(name)) w.sets.delete(name);
    else w.sets.set(name, new Set([pick(rng, HOSTS4)]));
    return `set ${name} added/removed`;
  }
  if (r < 0.75) {
    const name = `p${Math.floor(rng() * 5)}`;
    if (w.policies.has(name) && rng() < 0.3) w.policies.delete(name);
    else w.policies.set(name, Array.from({ length: 1 + Math.floor(rng() * 3) }, () => randomRule(rng, w)));
    return `policy ${name}`;
  }
  if (r < 0.85) {
    const name = `prof${Math.floor(rng() * 3)}`;
    if (w.profiles.has(name) && rng() < 0.3) w.profiles.delete(name);
    else w.profiles.set(name, [randomRule(rng, w)]);
    return `profile ${name}`;
  }
  const name = pick(rng, ['gw-eth1', 'gw-eth2', 'gw-wild']);
  if (w.heps.has(name) && rng() < 0.4) w.heps.delete(name);
  else w.heps.set(name, { iface: name === 'gw-wild' ? '*' : name.slice(3), profiles: [...w.profiles.keys(), 'missing'].filter(() => rng() < 0.5) });
  return `hep ${name}`;
}

function yamlOf(w: World): string {
  const docs: string[] = [];
  for (const [name, members] of w.sets) docs.push(resource('GlobalNetworkSet', `gns-${name}`, { nets: [...members] }, { kind: name }));
  let order = 1;
  for (const [name, ingress] of w.policies) docs.push(resource('GlobalNetworkPolicy', name, { order: order++, selector: `role == 'gw'`, ingress, egress: ingress.slice(0, 1) }));
  for (const [name, ingress] of w.profiles) docs.push(resource('Profile', name, { ingress, egress: [{ action: 'Allow' }] }));
  for (const [name, h] of w.heps) docs.push(resource('HostEndpoint', name, { node: 'gw', interfaceName: h.iface, profiles: h.profiles }, { role: 'gw' }));
  return docs.join('\n---\n');
}

let lab: Lab;

describe.skipIf(!isRoot)('table writer: incremental == full re-create', () => {
  beforeAll(async () => {
    lab = await Lab.create();
    await Promise.all([lab.addHost('inc'), lab.addHost('full')]);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: 40 random steps`, async () => {
      await Promise.all(['inc', 'full'].map((h) => lab.exec(h, ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false })));
      const rng = seeded(seed);
      // Deltas whatever their size, so every step exercises the incremental path.
      const { enforcer } = await enforcerIn(lab, 'inc', { fullAbove: Number.POSITIVE_INFINITY });
      const reference = new NftRunner('/nonexistent', await nftIn(lab, 'full'));
      const w: World = {
        sets: new Map([['k0', new Set([HOSTS4[0]!, PREFIXES[0]!])], ['k1', new Set()]]),
        policies: new Map(),
        profiles: new Map(),
        heps: new Map([['gw-eth1', { iface: 'eth1', profiles: [] }]]),
      };
      const history: string[] = [];
      for (let step = 0; step < 40; step++) {
        if (step > 0) for (let n = 1 + Math.floor(rng() * 3); n > 0; n--) history.push(mutate(rng, w));
        const rendered = renderYaml(yamlOf(w));
        expect(await enforcer.enforce(rendered)).toBe(true);
        const full = await reference.apply(fullDocument(rendered.table, [createStamp(tableStamp(rendered.table))]));
        expect(full.ok).toBe(true);
        const [a, b] = await Promise.all([normalisedTable(lab, 'inc'), normalisedTable(lab, 'full')]);
        if (a !== b) throw new Error(`seed ${seed} step ${step} after ${history.slice(-3).join(', ')}: tables differ\n${firstDifference(a, b)}`);
        // The structural audit agrees with what the deltas built (and so does not re-create it).
        if (step % 10 === 9) expect(await enforcer.audit()).toEqual([]);
      }
      enforcer.stop();
      const kinds = enforcer.writes.map((x) => `${x.kind}${x.ok ? '' : ' failed'}`);
      expect(kinds[0]).toBe('full');
      expect(kinds.filter((k) => k === 'delta').length).toBeGreaterThan(25);
      expect(kinds.filter((k) => k.includes('failed'))).toEqual([]);
    });
  }
});

function firstDifference(a: string, b: string): string {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `incremental: ${la[i]?.slice(0, 400)}\nfull:        ${lb[i]?.slice(0, 400)}`;
  }
  return 'same lines';
}
