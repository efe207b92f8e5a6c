/**
 * The authenticated channel (README "Authenticated channel (mTLS)"), against the real Mosquitto
 * with the README's TLS listener and ACL file, and against the relay's embedded broker with its
 * defaults. Certificates come from scripts/pki.sh. Every client runs inside the lab's hub host.
 *
 * Attacks, on both brokers: node gw subscribing to `#` (or naming c2's topics) never receives
 * c2's snapshot or any status; gw's status spoof for c2 and its forged snapshot never reach the
 * relay; a certificate from another CA and a client with none are refused. On the embedded
 * broker, a node cannot take over another node's session by its client id. Before this change
 * the embedded broker served anyone in plain text and Mosquitto's lab config had no ACL.
 * End to end: a relay and an agent over mqtts:// deliver and enforce a snapshot, on each broker.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { isRoot } from './harness.ts';
import { hep } from './fixtures.ts';
import { SyncLab, inForce, waitLog } from './sync-harness.ts';
import { brokerTlsFlags, EMBEDDED_URL, MOSQUITTO_URL, PKI_SH as PKI, pkiFiles, tlsMosquitto, tlsRelays, tlsSession } from './mtls-lab.ts';
import type { Mosquitto } from '../lab/mosquitto.ts';
import type { LabProcess } from '../lab/lab.ts';

const snap = (n: string) => `outpost/v1/nodes/${n}/snapshot`;
const status = (n: string) => `outpost/v1/nodes/${n}/status`;

let h: SyncLab;
let pki: string;
let mosquitto: Mosquitto;
const procs: LabProcess[] = [];

const pkiSh = (...args: string[]) => execa(PKI, ['--dir', pki, ...args]);
const as = (who: string) => pkiFiles(pki, who);
const session = (plan: Record<string, unknown>) => tlsSession(h.lab, plan);
const agentTls = (n: string) => brokerTlsFlags(pki, n);

describe.skipIf(!isRoot)('authenticated channel', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    ({ pki, mosquitto } = await tlsMosquitto(h, ['gw', 'c2']));
    // The same node names, from a CA nobody trusts.
    await execa(PKI, ['--dir', h.path('evil'), 'ca']);
    await execa(PKI, ['--dir', h.path('evil'), 'node', 'gw']);
    // One relay per broker: the embedded one (mTLS by default) and the lab's TLS Mosquitto.
    await tlsRelays(h, pki, hep('gw-eth1', { iface: 'eth1', node: 'gw' }) + hep('c2-eth0', { iface: 'eth0', node: 'c2', labels: { host: 'c2' } }), procs);
  }, 60_000);
  afterAll(async () => {
    for (const p of procs) await p.stop().catch(() => undefined);
    await mosquitto?.stop();
    await h?.destroy();
  });

  test('scripts/pki.sh: keys 0600, node identity in CN and SAN, idempotent, a node cannot be named like the relay', async () => {
    for (const k of ['ca.key', 'relay.key', 'broker.key', 'nodes/gw.key']) expect((await stat(join(pki, k))).mode & 0o777).toBe(0o600);
    const text = (await execa('openssl', ['x509', '-in', join(pki, 'nodes/gw.crt'), '-noout', '-subject', '-ext', 'subjectAltName'])).stdout;
    expect(text).toContain('CN = gw');
    expect(text).toContain('DNS:gw');
    const before = await Bun.file(join(pki, 'nodes/gw.crt')).text();
    expect((await pkiSh('node', 'gw')).stdout).toContain('kept');
    expect(await Bun.file(join(pki, 'nodes/gw.crt')).text()).toBe(before);
    expect((await pkiSh('node', 'relay').catch((e: { exitCode: number; stderr: string }) => e)).exitCode).toBe(1);
    expect((await pkiSh('node', 'Bad/Name').catch((e: { exitCode: number }) => e)).exitCode).toBe(1);
  });

  for (const [name, url] of [['Mosquitto', MOSQUITTO_URL], ['embedded broker', EMBEDDED_URL]] as const) {
    describe(name, () => {
      test('node gw reads its own snapshot, and nothing of c2 even with #', async () => {
        const s = await session({ url, ...as('gw'), subscribe: [snap('gw'), '#', 'outpost/v1/nodes/+/snapshot', snap('c2'), status('c2'), '$SYS/#'] });
        expect(JSON.stringify(s)).toContain('"connected":true');
        // The positive control: the session does receive what it may read.
        expect(s.received.map((m) => m.topic), JSON.stringify(s)).toContain(snap('gw'));
        // Besides its snapshot a node may read the relay's held-back list (README ACL), nothing else.
        expect(s.received.every((m) => m.topic === snap('gw') || m.topic === 'outpost/v1/relay/held-back')).toBe(true);
        // The embedded broker also refuses the wider filters outright (SUBACK 0x80); Mosquitto grants them and filters delivery.
        if (url === EMBEDDED_URL) expect(s.granted).toEqual([1, 128, 128, 128, 128, 128]);
      });

      test("gw cannot write c2's status nor any snapshot; its own status reaches the relay", async () => {
        const spoof = `spoof-${name}`;
        await session({ url, ...as('gw'), publish: [{ topic: status('c2'), payload: spoof, retain: true }, { topic: snap('gw'), payload: spoof, retain: true }, { topic: snap('c2'), payload: spoof, retain: true }] });
        await session({ url, ...as('gw'), publish: [{ topic: status('gw'), payload: `own-${name}`, retain: true }] });
        const relay = await session({ url, ...as('relay'), subscribe: ['outpost/v1/nodes/+/status', 'outpost/v1/nodes/+/snapshot'] });
        expect(relay.connected).toBe(true);
        expect(relay.received.some((m) => m.topic === status('gw') && m.payload === `own-${name}`)).toBe(true);
        expect(relay.received.filter((m) => m.payload === spoof)).toEqual([]);
        // The genuine snapshots are still there (signed JSON, not the spoof).
        expect(relay.received.filter((m) => m.topic === snap('c2')).length).toBeGreaterThan(0);
      });

      test("gw's last will on c2's status never lands", async () => {
        const will = `will-${name}`;
        // Connect with the will, then vanish without DISCONNECT (the client is killed at its deadline).
        await session({ url, ...as('gw'), will: { topic: status('c2'), payload: will }, waitMs: 200 });
        // The control: the same will on its own status does land.
        await session({ url, ...as('gw'), will: { topic: status('gw'), payload: `own-${will}` }, waitMs: 200 });
        await Bun.sleep(300);
        const relay = await session({ url, ...as('relay'), subscribe: ['outpost/v1/nodes/+/status'] });
        expect(relay.connected).toBe(true);
        expect(relay.received.some((m) => m.topic === status('gw') && m.payload === `own-${will}`)).toBe(true);
        expect(relay.received.filter((m) => m.payload === will)).toEqual([]);
      });

      test('a certificate from another CA, and a client without one, are refused', async () => {
        const evil = await session({ url, ca: join(pki, 'ca.crt'), cert: h.path('evil/nodes/gw.crt'), key: h.path('evil/nodes/gw.key'), subscribe: [snap('gw')] });
        expect(evil.connected && evil.received.length > 0).toBe(false);
        expect(evil.received).toEqual([]);
        const anon = await session({ url, ca: join(pki, 'ca.crt'), subscribe: [snap('gw')] });
        expect(anon.received).toEqual([]);
        expect(anon.connected && !anon.closed).toBe(false);
        // Plain MQTT on the same port: what any client could do before.
        const plain = await session({ url: url.replace('mqtts:', 'mqtt:'), subscribe: ['#'] });
        expect(plain.connected).toBe(false);
        expect(plain.received).toEqual([]);
      });
    });
  }

  test("embedded broker: gw cannot take over c2's session by its client id", async () => {
    const s = await session({ url: EMBEDDED_URL, ...as('gw'), clientId: 'outpost-agent-c2', subscribe: [snap('c2')] });
    expect(s.received).toEqual([]);
    expect(s.connected && !s.closed).toBe(false);
  });

  test('relay and agents over mqtts:// deliver and enforce a snapshot (embedded broker and Mosquitto)', async () => {
    const gw = h.agent('gw', ['--broker', EMBEDDED_URL, ...agentTls('gw')]);
    const c2 = h.agent('c2', ['--broker', MOSQUITTO_URL, ...agentTls('c2')]);
    procs.push(gw, c2);
    await Promise.all([waitLog(gw, inForce(), 30_000), waitLog(c2, inForce(), 30_000)]);
  }, 60_000);
});
