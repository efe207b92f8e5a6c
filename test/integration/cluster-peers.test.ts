/**
 * Rule peers from a Calico cluster, end to end: real etcd holding what a Calico cluster in
 * etcd mode writes (kube-controllers' kns.<ns> profile, the CNI plugin's WorkloadEndpoint, a
 * NetworkSet), `outpost relay`, Mosquitto, the agent on gw, and real packets.
 *
 * The "pod" is lab host c1: the WEP's ipNetworks hold c1's address, so a selector that matches
 * the WEP must let c1 in, and nobody else. c2 stands for a host that is no pod.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { SyncLab, inForce, logLines, waitApplied as waitInForce } from './sync-harness.ts';
import type { LabProcess } from '../lab/lab.ts';

const ROOT = '/calico/resources/v3/projectcalico.org';
const GW1 = '198.18.1.1';
const GW2 = '198.18.2.1';
const C1 = '198.18.1.2';
const C2 = '198.18.2.2';
const WEP_KEY = `${ROOT}/workloadendpoints/shop/node1-k8s-web--0-eth0`;
const NETSET_KEY = `${ROOT}/networksets/lab/partners`;

const meta = (name: string, extra: object = {}) => ({ name, uid: `0b5e2a9c-0000-4000-8000-${name.length.toString().padStart(12, '0')}`, creationTimestamp: '2026-01-01T00:00:00Z', ...extra });

// kube-controllers' profile for namespace "shop" (labels team=x), as it stores it in etcd mode.
const KNS_SHOP = {
  kind: 'Profile',
  apiVersion: 'projectcalico.org/v3',
  metadata: meta('kns.shop'),
  spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }], labelsToApply: { 'pcns.projectcalico.org/name': 'shop', 'pcns.team': 'x' } },
};

// The CNI plugin's WEP for pod web-0 in "shop"; Calico's client stores the namespace and
// orchestrator labels itself.
const wep = (ip: string) => ({
  kind: 'WorkloadEndpoint',
  apiVersion: 'projectcalico.org/v3',
  metadata: meta('node1-k8s-web--0-eth0', {
    generateName: 'web-',
    namespace: 'shop',
    labels: { role: 'frontend', 'projectcalico.org/namespace': 'shop', 'projectcalico.org/orchestrator': 'k8s' },
  }),
  spec: {
    orchestrator: 'k8s', node: 'node1', containerID: 'c0ffee', pod: 'web-0', endpoint: 'eth0',
    ipNetworks: [`${ip}/32`], profiles: ['kns.shop'], interfaceName: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee',
    ports: [{ name: 'web', protocol: 'TCP', port: 443, hostPort: 0, hostIP: '' }],
  },
});

const NETSET = {
  kind: 'NetworkSet',
  apiVersion: 'projectcalico.org/v3',
  metadata: meta('partners', { namespace: 'lab', labels: { role: 'partner' } }),
  spec: { nets: ['198.18.2.0/24'] },
};

// Ingress to gw: 80 from frontends, 8080 from any endpoint in a team=x namespace, 443 from
// partners. Egress from gw: only to a frontend's named port "web".
const POLICY = gnp(
  'from-cluster',
  `selector: role == 'gw'
types: [Ingress, Egress]
ingress:
- {action: Allow, protocol: TCP, source: {selector: "role == 'frontend'"}, destination: {ports: [80]}}
- {action: Allow, protocol: TCP, source: {namespaceSelector: "team == 'x'"}, destination: {ports: [8080]}}
- {action: Allow, protocol: TCP, source: {selector: "role == 'partner'"}, destination: {ports: [443]}}
egress:
- {action: Allow, protocol: TCP, destination: {selector: "role == 'frontend'", ports: [web]}}`,
);

let h: SyncLab;
let relay: LabProcess;
let gw: LabProcess;

const applied = (p: LabProcess) => logLines(p).filter(inForce());
const waitApplied = (p: LabProcess, count: number, timeoutMs?: number) => waitInForce(p, count, { relay, timeoutMs });
const put = (key: string, value: object) => h.etcd!.etcdctl(['put', key, JSON.stringify(value)]);
const del = (key: string) => h.etcd!.etcdctl(['del', key]);

/** Every flow the policy decides, with real packets. */
async function flows(): Promise<Record<string, boolean>> {
  const probes: [string, string, string, number][] = [
    ['c1→gw:80', 'c1', GW1, 80],
    ['c2→gw:80', 'c2', GW2, 80],
    ['c1→gw:8080', 'c1', GW1, 8080],
    ['c2→gw:8080', 'c2', GW2, 8080],
    ['c1→gw:443', 'c1', GW1, 443],
    ['c2→gw:443', 'c2', GW2, 443],
    ['gw→c1:443', 'gw', C1, 443],
    ['gw→c1:80', 'gw', C1, 80],
    ['gw→c2:443', 'gw', C2, 443],
  ];
  const results = await Promise.all(probes.map(([, from, to, port]) => h.tcp(from, to, port)));
  return Object.fromEntries(probes.map(([name], i) => [name, results[i]!]));
}

describe.skipIf(!isRoot)('rule peers from a Calico cluster (etcd → relay → agent)', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: true });
    // c2 and gw already answer on 22, 80, 443 (22 is a failsafe port, so it cannot show policy).
    await Promise.all([h.lab.startResponder('c1', { tcp: [80, 443] }), h.lab.startResponder('gw', { tcp: [8080], tag: 'gw-8080' })]);
    await h.apply('heps.yaml', hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + hep('gw-eth2', { iface: 'eth2', labels: { role: 'gw' } }));
    await h.apply('policy.yaml', POLICY);
    await put(`${ROOT}/profiles/kns.shop`, KNS_SHOP);
    await put(WEP_KEY, wep(C1));
    await put(NETSET_KEY, NETSET);
    relay = h.relay();
    gw = h.agent('gw');
    await waitApplied(gw, 1);
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('the pod (by label, by namespace label, by named port) and the NetworkSet are allowed; others are not', async () => {
    expect(await flows()).toEqual({
      'c1→gw:80': true, // role == 'frontend': the WEP's own label
      'c2→gw:80': false,
      'c1→gw:8080': true, // namespaceSelector team == 'x': inherited from kns.shop as pcns.team
      'c2→gw:8080': false, // the NetworkSet is in "lab", which has no team label
      'c1→gw:443': false,
      'c2→gw:443': true, // role == 'partner': the NetworkSet's nets
      'gw→c1:443': true, // the WEP's named port "web" = TCP 443 on its address
      'gw→c1:80': false,
      'gw→c2:443': false,
    });
    // The relay never publishes WEP data except as resolved set members.
    expect(relay.stderr).not.toContain('node1-k8s-web--0-eth0');
  });

  test('the pod moving to another address moves the allowance; deleting it removes it', async () => {
    let g = applied(gw).length;
    await put(WEP_KEY, wep(C2));
    await waitApplied(gw, ++g);
    const moved = await flows();
    expect([moved['c1→gw:80'], moved['c2→gw:80'], moved['c1→gw:8080'], moved['c2→gw:8080'], moved['gw→c1:443'], moved['gw→c2:443']]).toEqual([false, true, false, true, false, true]);

    await del(WEP_KEY);
    await waitApplied(gw, ++g);
    const gone = await flows();
    expect([gone['c1→gw:80'], gone['c2→gw:80'], gone['c1→gw:8080'], gone['c2→gw:8080'], gone['gw→c1:443'], gone['gw→c2:443']]).toEqual([false, false, false, false, false, false]);
    expect(gone['c2→gw:443']).toBe(true); // the NetworkSet is untouched
  });

  test('an invalid WEP is absent (not its last valid version)', async () => {
    let g = applied(gw).length;
    await put(WEP_KEY, wep(C1));
    await waitApplied(gw, ++g);
    expect((await flows())['c1→gw:80']).toBe(true);
    const invalid = wep(C1);
    invalid.spec.ipNetworks = ['198.18.1.0/24']; // more than one address: Calico's validator refuses it
    await put(WEP_KEY, invalid);
    await waitApplied(gw, ++g);
    expect((await flows())['c1→gw:80']).toBe(false);
    expect(logLines(relay).some((l) => String(l.msg).includes('ipNetworks'))).toBe(true);
  });

  test('deleting the NetworkSet removes its nets', async () => {
    const g = applied(gw).length;
    await del(NETSET_KEY);
    await waitApplied(gw, g + 1);
    expect((await flows())['c2→gw:443']).toBe(false);
  });
});
