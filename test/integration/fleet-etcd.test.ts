/**
 * Operators see the fleet, end to end: real etcd in Calico's layout, real Mosquitto, `outpost
 * relay --tests`, agents gw and c2, and `outpost fleet` reading the retained messages.
 * - an invalid GlobalNetworkPolicy put in etcd is held back: the relay publishes it retained on
 *   <prefix>/relay/held-back, fleet lists it (exit 1); fixed, it leaves the list;
 * - a change that breaks a declared flow is not published: the agent keeps its rules (real
 *   packets, retained snapshot revision), fleet shows the relay's failing tests; the fix goes out.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFile } from 'node:fs/promises';
import { isRoot, MAIN } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { SyncLab, logLines, waitApplied as waitInForce } from './sync-harness.ts';
import { heldBackTopic, snapshotTopic } from '../../src/protocol/topics.ts';
import { decodeSnapshot } from '../../src/protocol/snapshot.ts';
import type { LabProcess } from '../lab/lab.ts';
import type { FleetReport } from '../../src/cli/fleet-view.ts';

const allowOnGw = (...ports: number[]) => gnp('gw-web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: ${JSON.stringify(ports)}}}]`);
const GNP_KEY = '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/';
const storedGnp = (name: string, action: string) =>
  JSON.stringify({ kind: 'GlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3', metadata: { name, uid: '0b5e2a9c-0000-4000-8000-0000000000aa', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { order: 50, selector: "role == 'c2'", types: ['Ingress'], ingress: [{ action, protocol: 'TCP', destination: { ports: [22] } }] } });

let h: SyncLab;
let relay: LabProcess;
let gw: LabProcess;
let c2: LabProcess;

const applied = (p: LabProcess) => logLines(p).filter((l) => l.msg === 'ruleset in force').length;
const waitApplied = (p: LabProcess, count: number) => waitInForce(p, count, { relay });

async function fleet(...extra: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await h.lab.exec('hub', [process.execPath, MAIN, 'fleet', '--config', '/dev/null', '--broker', 'mqtt://127.0.0.1:1883', ...extra], { reject: false });
  return { code: r.exitCode, out: r.stdout, err: r.stderr };
}
async function fleetJson(): Promise<{ code: number | null; report: FleetReport }> {
  const r = await fleet('-o', 'json');
  return { code: r.code, report: JSON.parse(r.out) as FleetReport };
}
async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\nrelay:\n${relay.stderr.slice(-3000)}`);
    await Bun.sleep(100);
  }
}
const heldBack = async () => {
  const p = await h.retained(heldBackTopic('outpost/v1'));
  return p ? (JSON.parse(new TextDecoder().decode(p)) as { count: number; items: { kind: string; name: string; source: string; reason: string; lastValidInForce: boolean }[] }) : undefined;
};
const gwRevision = async () => {
  const p = await h.retained(snapshotTopic('outpost/v1', 'gw'));
  const d = p ? decodeSnapshot(p, { publicKey: h.keys.relay.publicKey, node: 'gw' }) : undefined;
  return d?.ok ? d.snapshot.revision : undefined;
};

describe.skipIf(!isRoot)('fleet, held-back and policy tests with etcd and Mosquitto', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: true });
    await h.apply('heps.yaml', hep('gw-eth1', { iface: 'eth1', ips: ['198.18.1.1'], labels: { role: 'gw' } }) + hep('c2-eth0', { iface: 'eth0', node: 'c2', labels: { role: 'c2' } }));
    await h.apply('gw-policy.yaml', allowOnGw(80));
    await writeFile(h.path('tests.yaml'), 'tests:\n  - name: office reaches the gw web server\n    node: gw\n    from: 198.18.0.5\n    to: 198.18.1.1\n    port: 80/tcp\n    expect: allow\n');
    relay = h.relay(['--tests', h.path('tests.yaml'), '--metrics-listen', 'off']);
    gw = h.agent('gw');
    c2 = h.agent('c2');
    await Promise.all([waitApplied(gw, 1), waitApplied(c2, 1)]);
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('every node in sync: fleet prints one line per node and exits 0', async () => {
    const r = await until('both in sync', async () => {
      const f = await fleet();
      return f.code === 0 && f;
    });
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ +NODE +STATE +APPLIED +EXPECTED +REVISION +AGE +FLAGS/);
    expect(lines.filter((l) => /^ +(gw|c2) +in-sync +[0-9a-f]{12} +[0-9a-f]{12} +\d+ /.test(l))).toHaveLength(2);
    expect(lines.at(-1)).toBe('2 nodes: 2 in sync');
    const { report } = await fleetJson();
    for (const n of report.nodes) expect(n.appliedHash).toBe(n.expectedHash!);
  });

  test('a prefix the broker holds nothing under (a typo): exit 2 and why, never an empty "all in sync"', async () => {
    const f = await fleet('--topic-prefix', 'outpost/v2', '--quiet-ms', '300');
    expect(f.code).toBe(2);
    expect(f.err).toContain('holds no status, expectation or relay message under outpost/v2/');
    expect(f.out).toBe('');
  });

  test('an invalid GlobalNetworkPolicy in etcd is held back, published, listed by fleet; fixed, it leaves', async () => {
    await h.etcd!.etcdctl(['put', `${GNP_KEY}c2-ssh`, storedGnp('c2-ssh', 'Sometimes')]);
    const held = await until('held back', async () => {
      const l = await heldBack();
      return l && l.count === 1 && l;
    });
    expect(held.items[0]).toMatchObject({ kind: 'GlobalNetworkPolicy', name: 'c2-ssh', source: `${GNP_KEY}c2-ssh`, lastValidInForce: false });
    expect(held.items[0]!.reason).toContain('action');
    expect(logLines(relay).filter((l) => String(l.msg).startsWith('held back as invalid: GlobalNetworkPolicy \'c2-ssh\''))).toHaveLength(1);
    const f = await fleet();
    expect(f.code).toBe(1);
    expect(f.out).toContain('1 resource held back as invalid');
    expect(f.out).toContain(`held back as invalid (1):\n  GlobalNetworkPolicy c2-ssh (${GNP_KEY}c2-ssh): `);
    expect(f.out).toContain('NOT enforced');

    await h.etcd!.etcdctl(['put', `${GNP_KEY}c2-ssh`, storedGnp('c2-ssh', 'Allow')]);
    await until('no longer held back', async () => (await heldBack())?.count === 0);
    expect(logLines(relay).some((l) => String(l.msg).startsWith('no longer held back: GlobalNetworkPolicy \'c2-ssh\''))).toBe(true);
    await until('fleet back to 0', async () => (await fleet()).code === 0);
  });

  test('a change that breaks a declared flow is not published; fleet shows it; the fix is published', async () => {
    const before = await gwRevision();
    const g = applied(gw);
    expect(await h.gwFlows()).toEqual({ 80: true, 443: false });
    await h.apply('gw-policy.yaml', allowOnGw(443));
    await until('tests failing logged', async () => logLines(relay).some((l) => String(l.msg).startsWith('policy tests FAILED')));
    const f = await until('fleet shows failing tests', async () => {
      const r = await fleet();
      return r.out.startsWith('RELAY: policy tests FAILING') && r;
    });
    expect(f.code).toBe(1);
    expect(f.out).toContain('  - office reaches the gw web server (node gw, eth1): expected allow, got deny');
    // The last state published (c2's, in the test before) stays in force; gw still holds its own.
    expect(f.out).toMatch(/revision \d+ is NOT published; revision \d+ stays in force/);
    // Nothing went out: the retained snapshot and the agent's rules are the old ones.
    expect(await gwRevision()).toBe(before!);
    expect(applied(gw)).toBe(g);
    expect(await h.gwFlows()).toEqual({ 80: true, 443: false });

    await h.apply('gw-policy.yaml', allowOnGw(80, 443));
    await waitApplied(gw, g + 1);
    expect(await h.gwFlows()).toEqual({ 80: true, 443: true });
    expect(BigInt((await gwRevision())!)).toBeGreaterThan(BigInt(before!));
    await until('fleet clean again', async () => (await fleet()).code === 0);
  });

  test('fleet: a broker that cannot be reached exits 2; garbage on a status topic is named, not fatal', async () => {
    const down = await h.lab.exec('hub', [process.execPath, MAIN, 'fleet', '--config', '/dev/null', '--broker', 'mqtt://127.0.0.1:1', '--timeout-ms', '1500'], { reject: false });
    expect(down.exitCode).toBe(2);
    expect(down.stderr).toContain('cannot connect to mqtt://127.0.0.1:1');
    await h.publish('outpost/v1/nodes/ghost/status', '{"node": "ghost", "state": 42}');
    const r = await fleet();
    expect(r.out).toContain('unreadable messages (1):\n  outpost/v1/nodes/ghost/status: state:');
    await h.publish('outpost/v1/nodes/ghost/status', '');
  });
});
