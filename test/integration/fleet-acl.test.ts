/**
 * Who may read the fleet (README "Broker ACL"), on the real Mosquitto with the README's ACL file
 * and on the relay's embedded broker with `fleetReaders`: `outpost fleet` with the fleet
 * reader's certificate sees every node's status and expectation; with a node's certificate it
 * sees none of them (exit 2: nothing readable); a fleet reader cannot read a snapshot nor write
 * a status. Certificates come from scripts/pki.sh; every client runs inside the lab's hub host.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { isRoot, MAIN } from './harness.ts';
import { hep } from './fixtures.ts';
import { HUB, SyncLab, waitLog } from './sync-harness.ts';
import { Mosquitto } from '../lab/mosquitto.ts';
import { README_ACL as ACL } from './readme-acl.ts';
import type { LabProcess } from '../lab/lab.ts';
import type { FleetReport } from '../../src/cli/fleet-view.ts';

const PKI = join(import.meta.dir, '../../scripts/pki.sh');
const CLIENT = join(import.meta.dir, 'mqtt-tls-client.ts');
const BROKERS = { mosquitto: `mqtts://${HUB.v4}:8883`, embedded: `mqtts://${HUB.v4}:8884` };

let h: SyncLab;
let pki: string;
let mosquitto: Mosquitto;
const procs: LabProcess[] = [];
const pkiSh = (...args: string[]) => execa(PKI, ['--dir', pki, ...args]);
const files = (who: string) => (who === 'relay' ? { ca: join(pki, 'ca.crt'), cert: join(pki, 'relay.crt'), key: join(pki, 'relay.key') } : { ca: join(pki, 'ca.crt'), cert: join(pki, 'nodes', `${who}.crt`), key: join(pki, 'nodes', `${who}.key`) });
const tlsFlags = (who: string) => {
  const f = files(who);
  return ['--broker-ca', f.ca, '--broker-cert', f.cert, '--broker-key', f.key];
};
async function session(plan: Record<string, unknown>) {
  const r = await h.lab.exec('hub', [process.execPath, CLIENT, JSON.stringify(plan)], { timeoutMs: 20_000 });
  return JSON.parse(r.stdout) as { connected: boolean; granted: number[]; received: { topic: string }[]; published: { topic: string; acked: boolean }[] };
}
async function fleet(url: string, who: string) {
  const r = await h.lab.exec('hub', [process.execPath, MAIN, 'fleet', '--config', '/dev/null', '--broker', url, ...tlsFlags(who), '-o', 'json', '--timeout-ms', '8000'], { reject: false });
  return { code: r.exitCode, report: r.stdout ? (JSON.parse(r.stdout) as FleetReport) : undefined, err: r.stderr };
}
const statusOf = (node: string) => JSON.stringify({ node, state: 'in-sync', refused: {}, since: new Date().toISOString() });

describe.skipIf(!isRoot)('fleet readers', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    pki = h.path('pki');
    await pkiSh('ca');
    await pkiSh('relay', '--san', `IP:${HUB.v4},IP:127.0.0.1`);
    await pkiSh('broker', '--san', `IP:${HUB.v4},IP:127.0.0.1`);
    await pkiSh('node', 'gw', 'fleet');
    await writeFile(h.path('acl'), ACL);
    mosquitto = await Mosquitto.start(h.lab, 'hub', h.dir, [HUB.v4, '127.0.0.1'], 8883, { cafile: join(pki, 'ca.crt'), certfile: join(pki, 'broker.crt'), keyfile: join(pki, 'broker.key'), aclFile: h.path('acl') });
    const dir = h.path('policies');
    await mkdir(dir);
    await writeFile(join(dir, 'heps.yaml'), hep('gw-eth1', { iface: 'eth1', node: 'gw' }));
    const embedded = h.relay(['--resources', dir, '--listen', `${HUB.v4}:8884`, '--fleet-readers', 'fleet', '--metrics-listen', 'off', ...tlsFlags('relay')]);
    const viaMosquitto = h.relay(['--resources', dir, '--broker', 'mqtts://127.0.0.1:8883', '--metrics-listen', 'off', ...tlsFlags('relay')]);
    procs.push(embedded, viaMosquitto);
    await Promise.all([waitLog(embedded, (l) => l.msg === 'snapshots published'), waitLog(viaMosquitto, (l) => l.msg === 'snapshots published')]);
    // gw's own status, written with its own certificate (allowed on both brokers).
    for (const url of Object.values(BROKERS)) {
      const s = await session({ url, ...files('gw'), clientId: 'outpost-agent-gw', publish: [{ topic: 'outpost/v1/nodes/gw/status', payload: statusOf('gw'), retain: true }] });
      expect(s.published).toEqual([{ topic: 'outpost/v1/nodes/gw/status', acked: true }]);
    }
  }, 60_000);
  afterAll(async () => {
    for (const p of procs) await p.stop().catch(() => undefined);
    await mosquitto?.stop();
    await h?.destroy();
  });

  for (const [name, url] of Object.entries(BROKERS)) {
    test(`${name}: the fleet reader sees gw's status and the relay's expectation`, async () => {
      const r = await fleet(url, 'fleet');
      expect(r.err).toBe('');
      expect(r.report!.nodes).toHaveLength(1);
      expect(r.report!.nodes[0]).toMatchObject({ node: 'gw', state: 'in-sync' });
      expect(r.report!.nodes[0]!.expectedHash).toMatch(/^sha256:/);
      // The status above names no hash: gw is behind what the relay expects.
      expect(r.report!.nodes[0]!.flags).toEqual(['behind']);
      expect(r.code).toBe(1);
    });

    test(`${name}: a node's certificate reads no status and no expectation`, async () => {
      const r = await fleet(url, 'gw');
      expect(r.report?.nodes ?? []).toEqual([]);
      expect(r.code).toBe(r.report ? 1 : 2);
    });

    test(`${name}: a fleet reader reads no snapshot and writes nothing`, async () => {
      const s = await session({ url, ...files('fleet'), subscribe: ['outpost/v1/nodes/gw/snapshot', 'outpost/v1/nodes/+/snapshot'], publish: [{ topic: 'outpost/v1/nodes/gw/status', payload: JSON.stringify({ node: 'gw', state: 'error', lastError: 'spoofed', refused: {}, since: new Date().toISOString() }), retain: true }], waitMs: 800 });
      expect(s.received.filter((m) => m.topic.endsWith('/snapshot'))).toEqual([]);
      // Mosquitto drops a denied publish silently (still acknowledged); gw's status must be unchanged either way.
      const r = await fleet(url, 'fleet');
      expect(r.report!.nodes.map((n) => [n.node, n.state, n.lastError])).toEqual([['gw', 'in-sync', undefined]]);
    });
  }
});
