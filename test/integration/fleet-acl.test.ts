/**
 * Who may read the fleet (README "Broker ACL"), on the real Mosquitto with the README's ACL file
 * and on the relay's embedded broker with `fleetReaders`: `outpost fleet` with the fleet
 * reader's certificate sees every node's status and expectation; with a node's certificate it
 * sees none of them (exit 2: nothing readable); a fleet reader cannot read a snapshot nor write
 * a status. Certificates come from scripts/pki.sh; every client runs inside the lab's hub host.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { isRoot, MAIN } from './harness.ts';
import { hep } from './fixtures.ts';
import { SyncLab } from './sync-harness.ts';
import { brokerTlsFlags, EMBEDDED_URL, MOSQUITTO_URL, pkiFiles, tlsMosquitto, tlsRelays, tlsSession } from './mtls-lab.ts';
import type { Mosquitto } from '../lab/mosquitto.ts';
import type { LabProcess } from '../lab/lab.ts';
import type { FleetReport } from '../../src/cli/fleet-view.ts';

const BROKERS = { mosquitto: MOSQUITTO_URL, embedded: EMBEDDED_URL };

let h: SyncLab;
let pki: string;
let mosquitto: Mosquitto;
const procs: LabProcess[] = [];
const files = (who: string) => pkiFiles(pki, who);
const tlsFlags = (who: string) => brokerTlsFlags(pki, who);
const session = (plan: Record<string, unknown>) => tlsSession(h.lab, plan);
async function fleet(url: string, who: string) {
  const r = await h.lab.exec('hub', [process.execPath, MAIN, 'fleet', '--config', '/dev/null', '--broker', url, ...tlsFlags(who), '-o', 'json', '--timeout-ms', '8000'], { reject: false });
  return { code: r.exitCode, report: r.stdout ? (JSON.parse(r.stdout) as FleetReport) : undefined, err: r.stderr };
}
const statusOf = (node: string) => JSON.stringify({ node, state: 'in-sync', refused: {}, since: new Date().toISOString() });

describe.skipIf(!isRoot)('fleet readers', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    ({ pki, mosquitto } = await tlsMosquitto(h, ['gw', 'fleet']));
    await tlsRelays(h, pki, hep('gw-eth1', { iface: 'eth1', node: 'gw' }), procs, { embedded: ['--fleet-readers', 'fleet'], both: ['--metrics-listen', 'off'] });
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
