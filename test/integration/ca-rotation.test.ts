/**
 * Rotating the MQTT CA without an outage, end to end, as the README's "Rotating the CA" steps
 * say: a real Mosquitto with the README's TLS listener and ACL, a real relay (folder datastore)
 * and a real agent in gw, each reading its own installed files (hub: broker + relay; gw: agent),
 * real packets from c1 sampled all along.
 *
 *   1. everything from the old CA; the agent enforces the relay's snapshot;
 *   2. a new CA; every trust file (Mosquitto's cafile, the relay's and the agent's brokerCa)
 *      holds old + new; the broker restarts (clients reconnect and re-read their files);
 *   3. the hub's certificates (broker, relay) are reissued from the new CA and installed, the
 *      broker restarts: the agent, still on its old certificate, is accepted and accepts the new
 *      broker certificate; then gw's certificate is reissued and installed (next reconnect);
 *   4. the old CA is removed from every trust file, the broker restarts: everyone reconnects on
 *      new certificates only, and a client presenting gw's old certificate is refused.
 * Throughout, port 80 stays open and 443 closed; at the end a change in the relay's datastore
 * (opening 443) reaches the agent over the new certificates and is enforced.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { HUB, SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';
import { Mosquitto } from '../lab/mosquitto.ts';
import { README_ACL as ACL } from './readme-acl.ts';
import type { LabProcess } from '../lab/lab.ts';

const PKI = join(import.meta.dir, '../../scripts/pki.sh');
const CLIENT = join(import.meta.dir, 'mqtt-tls-client.ts');
const GW1 = '198.18.1.1';
const URL_FROM_GW = `mqtts://${HUB.v4}:8883`;

const site = (ports: number[]) =>
  hep('gw-eth1', { iface: 'eth1', node: 'gw', labels: { role: 'web' } }) + gnp('web', `selector: role == 'web'\ningress: [{action: Allow, protocol: TCP, destination: {ports: ${JSON.stringify(ports)}}}]`);

let h: SyncLab;
let mosquitto: Mosquitto | undefined;
const procs: LabProcess[] = [];
/** Ends the packet sampler (also when the test failed half-way, before the lab goes). */
let stopSampling = async () => {};

describe.skipIf(!isRoot)('MQTT CA rotation without an outage', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
  }, 60_000);
  afterAll(async () => {
    await stopSampling();
    for (const p of procs) await p.stop().catch(() => undefined);
    await mosquitto?.stop().catch(() => undefined);
    await h?.destroy();
  });

  test('old CA → trust old+new → certificates reissued from the new CA → old CA removed; enforcement never lapses', async () => {
    const pkiSh = (dir: string, ...args: string[]) => execa(PKI, ['--dir', h.path(dir), ...args]);
    const ca = (dir: string) => readFileSync(h.path(`${dir}/ca.crt`), 'utf8');
    // What a host has installed: written whole then renamed, as a careful operator (or a config tool) does.
    const install = (file: string, content: string, mode = 0o644) => {
      const to = h.path(file);
      writeFileSync(`${to}.tmp`, content, { mode });
      renameSync(`${to}.tmp`, to);
    };
    const installCert = (host: string, name: string, from: string) => {
      install(`${host}/${name}.crt`, readFileSync(h.path(`${from}.crt`), 'utf8'));
      install(`${host}/${name}.key`, readFileSync(h.path(`${from}.key`), 'utf8'), 0o600);
    };
    const trust = (...dirs: string[]) => {
      const both = dirs.map(ca).join('');
      install('hub/ca.crt', both);
      install('gw/ca.crt', both);
    };

    // 1. The old CA issues everything.
    await pkiSh('pki-old', 'ca');
    await pkiSh('pki-old', 'relay', '--san', `IP:${HUB.v4},IP:127.0.0.1`);
    await pkiSh('pki-old', 'broker', '--san', `IP:${HUB.v4},IP:127.0.0.1`);
    await pkiSh('pki-old', 'node', 'gw');
    mkdirSync(h.path('hub'), { mode: 0o700 });
    mkdirSync(h.path('gw'), { mode: 0o700 });
    trust('pki-old');
    installCert('hub', 'broker', 'pki-old/broker');
    installCert('hub', 'relay', 'pki-old/relay');
    installCert('gw', 'gw', 'pki-old/nodes/gw');
    writeFileSync(h.path('acl'), ACL);
    mosquitto = await Mosquitto.start(h.lab, 'hub', h.dir, [HUB.v4, '127.0.0.1'], 8883, { cafile: h.path('hub/ca.crt'), certfile: h.path('hub/broker.crt'), keyfile: h.path('hub/broker.key'), aclFile: h.path('acl') });
    const res = h.path('res');
    mkdirSync(res);
    const writeSite = (ports: number[], when: string) => {
      writeFileSync(join(res, 'site.yaml'), site(ports));
      Bun.spawnSync(['touch', '-d', when, join(res, 'site.yaml'), res]);
    };
    writeSite([80], '2026-01-01T00:00:00Z');
    const relay = h.relay(['--resources', res, '--state', h.path('relay-state'), '--broker', 'mqtts://127.0.0.1:8883', '--broker-ca', h.path('hub/ca.crt'), '--broker-cert', h.path('hub/relay.crt'), '--broker-key', h.path('hub/relay.key')]);
    const agent = h.agent('gw', ['--broker', URL_FROM_GW, '--broker-ca', h.path('gw/ca.crt'), '--broker-cert', h.path('gw/gw.crt'), '--broker-key', h.path('gw/gw.key')]);
    procs.push(relay, agent);
    const first = await waitLog(agent, inForce(), 30_000);
    expect(await h.tcp('c1', GW1, 80)).toBe(true);
    expect(await h.tcp('c1', GW1, 443)).toBe(false);

    // Sampled all along, and at each broker restart: an outage shows up as 80 closed or 443 open.
    const samples: { p80: boolean; p443: boolean }[] = [];
    const sample = async () => {
      const [p80, p443] = await Promise.all([h.tcp('c1', GW1, 80), h.tcp('c1', GW1, 443)]);
      samples.push({ p80, p443 });
    };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await sample();
        await Bun.sleep(100);
      }
    })();
    stopSampling = async () => {
      sampling = false;
      await sampler.catch(() => undefined);
    };

    // A broker restart (what a real rotation needs: Mosquitto reads its files at start) makes
    // every client reconnect, re-reading its own files; both must come back.
    const restartBroker = async () => {
      const [r, a] = [logLines(relay).length, logLines(agent).length];
      await mosquitto!.stop();
      await sample(); // no broker at all
      await mosquitto!.resume();
      const back = (p: LabProcess, from: number, msg: string) => waitLog(p, (l) => l.msg.startsWith(msg), 20_000, from);
      await Promise.all([back(relay, r, 'connected to broker'), back(agent, a, 'connected to broker')]);
      await sample();
    };

    // 2. A new CA; the broker and every client trust both.
    await pkiSh('pki-new', 'ca');
    trust('pki-old', 'pki-new');
    await restartBroker();

    // 3. New certificates from the new CA, one host at a time: the hub (broker and relay) first,
    // while the agent still presents its old certificate; then gw.
    await pkiSh('pki-new', 'relay', '--san', `IP:${HUB.v4},IP:127.0.0.1`);
    await pkiSh('pki-new', 'broker', '--san', `IP:${HUB.v4},IP:127.0.0.1`);
    await pkiSh('pki-new', 'node', 'gw');
    installCert('hub', 'broker', 'pki-new/broker');
    installCert('hub', 'relay', 'pki-new/relay');
    await restartBroker();
    installCert('gw', 'gw', 'pki-new/nodes/gw');
    await restartBroker();

    // 4. The old CA leaves every trust file; everyone is back on new certificates only.
    trust('pki-new');
    await restartBroker();
    // gw's old certificate is refused now; its new one (the control) reads its snapshot.
    const session = async (cert: string) => JSON.parse((await h.lab.exec('hub', [process.execPath, CLIENT, JSON.stringify({ url: URL_FROM_GW, ca: h.path('hub/ca.crt'), cert: h.path(`${cert}.crt`), key: h.path(`${cert}.key`), subscribe: ['outpost/v1/nodes/gw/snapshot'] })], { timeoutMs: 20_000 })).stdout) as { connected: boolean; received: unknown[] };
    const [old, now] = await Promise.all([session('pki-old/nodes/gw'), session('pki-new/nodes/gw')]);
    expect(old.received).toEqual([]);
    expect(old.connected).toBe(false);
    expect(now.received.length, JSON.stringify(now)).toBeGreaterThan(0);

    await stopSampling();
    expect(samples.length).toBeGreaterThan(8);
    expect(samples.filter((s) => !s.p80 || s.p443)).toEqual([]);

    // A change in the relay's datastore still reaches the agent, over the new certificates.
    writeSite([80, 443], '2026-02-01T00:00:00Z');
    await waitLog(agent, (l) => inForce()(l) && l['from'] === 'relay' && BigInt(String(l['revision'])) > BigInt(String(first['revision'])), 20_000);
    expect(await h.tcp('c1', GW1, 443)).toBe(true);
    expect(await h.tcp('c1', GW1, 80)).toBe(true);
  }, 90_000);
});
