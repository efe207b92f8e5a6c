/**
 * GlobalNetworkPolicy `types`, as Calico reads it: calicoctl fills
 * in an absent or empty `types` from the rules before it writes; Felix takes a stored value as
 * stored, where no `types` means both directions. Real etcd, relay, Mosquitto, agent, packets.
 *
 * The probe: a tier `t1` before `default` holding one policy whose only rule is an egress Pass.
 * Read as egress-only, ingress never meets tier t1 and the HEP's default-allow profile lets c1 in.
 * Read as both directions, ingress meets tier t1 with no rule and is dropped at its end.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { isRoot } from './harness.ts';
import { doc, hep } from './fixtures.ts';
import { SyncLab, inForce, logLines, waitApplied as waitInForce } from './sync-harness.ts';
import type { LabProcess } from '../lab/lab.ts';

const ROOT = '/calico/resources/v3/projectcalico.org';
const GW1 = '198.18.1.1';
const KEY = `${ROOT}/globalnetworkpolicies/t1.egress-pass`;

let h: SyncLab;
let relay: LabProcess;
let gw: LabProcess;

const applied = () => logLines(gw).filter(inForce()).length;
const waitApplied = (count: number) => waitInForce(gw, count, { relay });

// As another writer (or an old Calico) leaves it in etcd: no `types` at all.
const stored = {
  kind: 'GlobalNetworkPolicy',
  apiVersion: 'projectcalico.org/v3',
  metadata: { name: 't1.egress-pass', labels: { 'projectcalico.org/tier': 't1' } },
  spec: { tier: 't1', selector: "role == 'gw'", egress: [{ action: 'Pass' }] },
};

describe.skipIf(!isRoot)('GlobalNetworkPolicy types: defaulted when written from a manifest, taken as stored when read', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: true });
    await h.lab.startResponder('c1', { tcp: [80] });
    await h.apply('base.yaml', hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' }, profiles: ['projectcalico-default-allow'] }) + doc('Tier', 't1', 'order: 100'));
    relay = h.relay();
    gw = h.agent('gw');
    await waitApplied(1);
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('a stored policy without types governs both directions: ingress meets tier t1 and is dropped', async () => {
    expect(await h.tcp('c1', GW1, 80)).toBe(true);
    const before = applied();
    await h.etcd!.etcdctl(['put', KEY, JSON.stringify(stored)]);
    await waitApplied(before + 1);
    expect(await h.tcp('c1', GW1, 80)).toBe(false);
    expect(await h.tcp('gw', '198.18.1.2', 80)).toBe(true); // egress: Pass, then the profile allows
  });

  test('the same policy applied from a manifest with types: [] is stored as calicoctl stores it (Egress): ingress is untouched', async () => {
    const before = applied();
    await h.apply('p.yaml', doc('GlobalNetworkPolicy', 't1.egress-pass', "tier: t1\nselector: role == 'gw'\ntypes: []\negress: [{action: Pass}]"));
    await waitApplied(before + 1);
    expect(await h.tcp('c1', GW1, 80)).toBe(true);
    const r = await h.etcd!.etcdctl(['get', KEY, '--print-value-only']);
    expect((JSON.parse(r.stdout) as { spec: { types?: string[] } }).spec.types).toEqual(['Egress']);
  });
});
