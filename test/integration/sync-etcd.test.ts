/**
 * The production path end to end: real etcd in Calico's layout, real Mosquitto, `outpost
 * relay`, and agents in two namespaces (nodes gw and c2). Real packets decide every claim.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { SyncLab, inForce, logLines, waitLog, waitApplied as waitInForce } from './sync-harness.ts';
import { snapshotTopic } from '../../src/protocol/topics.ts';
import { decodeSnapshot } from '../../src/protocol/snapshot.ts';
import type { LabProcess } from '../lab/lab.ts';

const C2 = '198.18.2.2';
const allowOnGw = (port: number) => gnp('gw-web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);

let h: SyncLab;
let relay: LabProcess;
let gw: LabProcess;
let c2: LabProcess;

const applied = (p: LabProcess) => logLines(p).filter(inForce());
const waitApplied = (p: LabProcess, count: number, timeoutMs?: number) => waitInForce(p, count, { relay, timeoutMs });
const gwFlows = () => h.gwFlows();

describe.skipIf(!isRoot)('etcd → relay → Mosquitto → agents', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: true });
    await h.apply('heps.yaml', hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + hep('c2-eth0', { iface: 'eth0', node: 'c2', labels: { role: 'c2' } }));
    await h.apply('gw-policy.yaml', allowOnGw(80));
    await h.apply('c2-policy.yaml', gnp('c2-web', `selector: role == 'c2'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]`));
    relay = h.relay();
    gw = h.agent('gw');
    c2 = h.agent('c2');
    await Promise.all([waitApplied(gw, 1), waitApplied(c2, 1)]);
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('each agent enforces its own node\'s policy', async () => {
    expect(await gwFlows()).toEqual({ 80: true, 443: false });
    expect(await h.tcp('gw', C2, 443)).toBe(true);
    expect(await h.tcp('gw', C2, 80)).toBe(false);
  });

  test('a policy change in etcd changes enforcement; only the affected node gets a snapshot', async () => {
    const [g, c] = [applied(gw).length, applied(c2).length];
    await h.apply('gw-policy.yaml', allowOnGw(443));
    await waitApplied(gw, g + 1);
    expect(await gwFlows()).toEqual({ 80: false, 443: true });
    const last = logLines(relay).filter((l) => l.msg === 'snapshots published').at(-1);
    expect(last?.['published']).toEqual(['gw']);
    expect(applied(c2).length).toBe(c);
    // Neither agent ever saw the other's snapshot (it would have been refused as wrong-node).
    expect([...logLines(gw), ...logLines(c2)].filter((l) => l.msg.startsWith('snapshot refused'))).toEqual([]);
  });

  test('a resource written with etcdctl in Calico\'s (≤3.31, tier-prefixed) layout is enforced', async () => {
    const g = applied(gw).length;
    const value = {
      kind: 'GlobalNetworkPolicy',
      apiVersion: 'projectcalico.org/v3',
      metadata: { name: 'default.gw-ssh-alt', uid: '0b5e2a9c-0000-4000-8000-000000000001', creationTimestamp: '2026-01-01T00:00:00Z', annotations: { 'projectcalico.org/metadata': '{"name":"gw-ssh-alt"}' } },
      spec: { tier: 'default', order: 10, selector: "role == 'gw'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }] },
    };
    await h.etcd!.etcdctl(['put', '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/default.gw-ssh-alt', JSON.stringify(value)]);
    await waitApplied(gw, g + 1);
    expect(await gwFlows()).toEqual({ 80: true, 443: true });
    await h.etcd!.etcdctl(['del', '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/default.gw-ssh-alt']);
    await waitApplied(gw, g + 2);
    expect(await gwFlows()).toEqual({ 80: false, 443: true });
  });

  test('a relay restart changes nothing: same revision and content retained (a newer issue time), no re-apply', async () => {
    const topic = snapshotTopic('outpost/v1', 'gw');
    const before = await h.retained(topic);
    const g = applied(gw).length;
    await relay.stop();
    relay = h.relay();
    await waitLog(relay, (l) => l.msg === 'snapshots published');
    await waitLog(relay, (l) => l.msg.startsWith('connected to broker'));
    const after = await h.retained(topic);
    expect(after).toBeDefined();
    // The restarted relay signs anew (issuedAt), so only the signed content is compared.
    const [b, a] = [before!, after!].map((p) => decodeSnapshot(p, { publicKey: h.keys.relay.publicKey, node: 'gw' }));
    if (!b!.ok || !a!.ok) throw new Error('retained snapshot does not verify');
    expect([a!.snapshot.revision, a!.snapshot.hash]).toEqual([b!.snapshot.revision, b!.snapshot.hash]);
    expect(a!.snapshot.issuedAt!).toBeGreaterThanOrEqual(b!.snapshot.issuedAt!);
    await Bun.sleep(300);
    expect(applied(gw).length).toBe(g);
    expect(await gwFlows()).toEqual({ 80: false, 443: true });
  });

  test('broker and relay down: enforcement unchanged; a change made meanwhile arrives after reconnect', async () => {
    const g = applied(gw).length;
    await relay.stop();
    await h.mosquitto.stop();
    await waitLog(gw, (l) => l.msg.startsWith('broker unreachable'));
    expect(await gwFlows()).toEqual({ 80: false, 443: true });
    await h.apply('gw-policy.yaml', allowOnGw(80));
    expect(await gwFlows()).toEqual({ 80: false, 443: true });
    // The broker comes back empty (no persistence): the relay republishes everything.
    await h.mosquitto.resume();
    relay = h.relay();
    await waitApplied(gw, g + 1, 30_000);
    expect(await gwFlows()).toEqual({ 80: true, 443: false });
    expect(await h.retained(snapshotTopic('outpost/v1', 'c2'))).toBeDefined();
  });

  test('etcd compaction while the relay was not watching loses nothing', async () => {
    const g = applied(gw).length;
    const pid = relay.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      await h.etcd!.stop();
      await h.etcd!.resume();
      await h.apply('gw-policy.yaml', allowOnGw(443));
      await h.apply('gw-policy-2.yaml', gnp('gw-extra', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]`));
      await h.deleteResource('globalnetworkpolicy', 'gw-extra');
      const status = JSON.parse((await h.etcd!.etcdctl(['endpoint', 'status', '-w', 'json'])).stdout) as { Status: { header: { revision: number } } }[];
      await h.etcd!.etcdctl(['compaction', String(status[0]!.Status.header.revision)]);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitApplied(gw, g + 1, 30_000);
    // The relay really met the compaction (and re-listed), rather than replaying history.
    await waitLog(relay, (l) => l.msg.startsWith('etcd: history compacted'));
    await Bun.sleep(500);
    expect(await gwFlows()).toEqual({ 80: false, 443: true });
  });

  test('a node that loses its last HEP is told so, and its retained snapshot is cleared', async () => {
    const c = applied(c2).length;
    await h.deleteResource('hostendpoint', 'c2-eth0');
    await waitApplied(c2, c + 1);
    expect(await h.tcp('gw', C2, 80)).toBe(true);
    expect(await h.retained(snapshotTopic('outpost/v1', 'c2'))).toBeUndefined();
  });
});
