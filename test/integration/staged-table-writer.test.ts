/**
 * The table writer with staged chains, with the real nft: seeded sequences of staged-policy
 * changes (added, edited, removed; rules over selector sets whose members change, Log rules over
 * both set parts) applied as deltas in one namespace and as full re-creates in another must give
 * the same table after every step, and the structural audit must agree with the deltas.
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
const MEMBERS = ['198.18.100.10/32', '198.18.100.11/32', '198.18.104.0/22', 'fd00:64::1/128', 'fd00:65::/64'];
const ACTIONS = ['Allow', 'Deny', 'Pass', 'Log'] as const;

function randomRule(rng: Rng): unknown {
  const action = pick(rng, ACTIONS);
  switch (Math.floor(rng() * 4)) {
    case 0: return { action, protocol: 'TCP', destination: { ports: [pick(rng, [22, 443, 8080])] } };
    case 1: return { action, source: { selector: `kind == '${pick(rng, ['a', 'b'])}'` } };
    case 2: return { action, source: { notSelector: "kind == 'a'" }, protocol: 'UDP' };
    default: return { action };
  }
}

function world(rng: Rng, state: { staged: Map<string, unknown[]>; sets: Map<string, Set<string>> }): string {
  const r = rng();
  if (r < 0.4) {
    const name = pick(rng, ['s1', 's2', 's3']);
    if (state.staged.has(name) && rng() < 0.3) state.staged.delete(name);
    else state.staged.set(name, Array.from({ length: 1 + Math.floor(rng() * 3) }, () => randomRule(rng)));
  } else {
    const set = state.sets.get(pick(rng, ['a', 'b']))!;
    const m = pick(rng, MEMBERS);
    if (set.has(m)) set.delete(m);
    else set.add(m);
  }
  const docs = [
    resource('HostEndpoint', 'gw-eth1', { node: 'gw', interfaceName: 'eth1', profiles: ['projectcalico-default-allow'] }, { role: 'gw' }),
    resource('GlobalNetworkPolicy', 'enforced', { selector: 'all()', ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [443] } }] }),
  ];
  for (const [k, members] of state.sets) docs.push(resource('GlobalNetworkSet', `set-${k}`, { nets: [...members] }, { kind: k }));
  for (const [name, ingress] of state.staged) docs.push(resource('StagedGlobalNetworkPolicy', name, { selector: "role == 'gw'", ingress, egress: ingress.slice(0, 1) }));
  return docs.join('\n---\n');
}

let lab: Lab;

describe.skipIf(!isRoot)('table writer with staged chains: incremental == full re-create', () => {
  beforeAll(async () => {
    lab = await Lab.create();
    await Promise.all([lab.addHost('inc'), lab.addHost('full')]);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  for (const seed of [11, 12]) {
    test(`seed ${seed}: 30 random steps`, async () => {
      const rng = seeded(seed);
      const { enforcer } = await enforcerIn(lab, 'inc', { fullAbove: Number.POSITIVE_INFINITY });
      const reference = new NftRunner('/nonexistent', await nftIn(lab, 'full'));
      const state = { staged: new Map<string, unknown[]>(), sets: new Map([['a', new Set([MEMBERS[0]!, MEMBERS[2]!])], ['b', new Set<string>()]]) };
      let withStaged = 0;
      for (let step = 0; step < 30; step++) {
        const rendered = renderYaml(world(rng, state));
        if (rendered.table.chains.some((c) => c.name.startsWith('spi-'))) withStaged++;
        expect(await enforcer.enforce(rendered)).toBe(true);
        const full = await reference.apply(fullDocument(rendered.table, [createStamp(tableStamp(rendered.table))]));
        expect(full.ok).toBe(true);
        const [a, b] = await Promise.all([normalisedTable(lab, 'inc'), normalisedTable(lab, 'full')]);
        expect(a, `seed ${seed} step ${step}`).toBe(b);
        if (step % 5 === 4) expect(await enforcer.audit()).toEqual([]);
      }
      enforcer.stop();
      expect(withStaged).toBeGreaterThan(10);
      // Every write after the first was a delta (a step that changed nothing writes nothing).
      const kinds = enforcer.writes.map((x) => x.kind);
      expect(kinds[0]).toBe('full');
      expect(kinds.slice(1).every((k) => k === 'delta')).toBe(true);
      expect(kinds.length).toBeGreaterThan(10);
      expect(enforcer.writes.filter((x) => !x.ok)).toEqual([]);
      await Promise.all(['inc', 'full'].map((h) => lab.exec(h, ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false })));
    });
  }
});
