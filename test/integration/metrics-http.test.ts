/**
 * The relay's metrics and health endpoint, with the real relay (folder datastore, embedded
 * broker) in a namespace, scraped over its loopback:
 * - on by default at 127.0.0.1:9469: /metrics, /livez, /readyz; values follow a publish;
 * - a second relay on the same host with the default address runs, with a warning, no endpoint;
 * - an address given explicitly that is taken stops the relay, naming it; `off` listens nowhere.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type LabProcess } from '../lab/lab.ts';
import { isRoot, MAIN } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { logLines, waitLog } from './sync-harness.ts';
import { generateSigningKeyPair, privateKeyToPem } from '../../src/platform/signing.ts';
import { sampleValue, type Family } from '../unit/observe/prom-text.ts';
import { get, listeners, metrics } from './metrics-scrape.ts';

const DEFAULT = '127.0.0.1:9469';
const POLICY = gnp('allow-web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]`);

describe.skipIf(!isRoot)('relay metrics endpoint', () => {
  let lab: Lab;
  let dir: string;
  const relay = (brokerPort: number, extra: string[] = []): LabProcess =>
    lab.spawn('hub', [process.execPath, MAIN, 'relay', '--config', '/dev/null', '--resources', join(dir, 'res'), '--listen', `127.0.0.1:${brokerPort}`, '--insecure', '--signing-key', join(dir, 'relay.key'), '--coalesce-ms', '5', ...extra]);
  const listening = (p: LabProcess) => waitLog(p, (l) => l.msg === 'metrics and health endpoint listening (/metrics, /livez, /readyz)');
  /** Waits until a scrape satisfies `pred` (the relay publishes asynchronously); returns it. */
  const scrapeUntil = async (addr: string, pred: (m: Map<string, Family>) => boolean, what: string, p: LabProcess): Promise<Map<string, Family>> => {
    const end = Date.now() + 15_000;
    for (;;) {
      const m = await metrics(lab, 'hub', addr);
      if (pred(m)) return m;
      if (Date.now() > end) throw new Error(`metrics never showed ${what}; relay log:\n${p.stderr.slice(-3000)}`);
      await Bun.sleep(100);
    }
  };

  beforeAll(async () => {
    lab = await Lab.create();
    await lab.addHost('hub');
    dir = await mkdtemp(join(tmpdir(), 'outpost-metrics-relay-'));
    const keys = generateSigningKeyPair();
    await writeFile(join(dir, 'relay.key'), privateKeyToPem(keys.privateKey), { mode: 0o600 });
    await Bun.write(join(dir, 'res', 'a.yaml'), hep('gw1-eth1', { node: 'gw1', iface: 'eth1', labels: { role: 'gw' } }) + POLICY);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  test('on by default on loopback; ready; values follow a publish', async () => {
    const r = relay(11883);
    await listening(r);
    expect(await listeners(lab, 'hub', r.pid)).toContain(DEFAULT);
    expect((await get(lab, 'hub', DEFAULT, '/livez')).status).toBe(200);
    let m = await scrapeUntil(DEFAULT, (x) => (sampleValue(x, 'outpost_relay_publishes_total', { result: 'ok' }) ?? 0) >= 1, 'a first publish', r);
    expect(sampleValue(m, 'outpost_relay_nodes')).toBe(1);
    expect(sampleValue(m, 'outpost_relay_publishes_total', { result: 'failed' })).toBe(0);
    expect(sampleValue(m, 'outpost_relay_compute_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(m, 'outpost_relay_last_publish_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(sampleValue(m, 'outpost_relay_held_back_resources')).toBe(0);
    expect(sampleValue(m, 'outpost_relay_tests_failing')).toBe(0);
    const revision = sampleValue(m, 'outpost_relay_revision');
    expect(revision).toBeGreaterThan(0);
    m = await scrapeUntil(DEFAULT, (x) => sampleValue(x, 'outpost_relay_broker_connected') === 1 && sampleValue(x, 'outpost_relay_datastore_connected') === 1, 'both connected', r);
    const ready = await get(lab, 'hub', DEFAULT, '/readyz');
    expect([ready.status, ready.body]).toEqual([200, 'ready\n']);
    const scrape = await get(lab, 'hub', DEFAULT, '/metrics');
    expect(scrape.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect((await get(lab, 'hub', DEFAULT, '/nope')).status).toBe(404);

    // A second node and an invalid resource: another publish, two nodes, one held back.
    const published = sampleValue(m, 'outpost_relay_publishes_total', { result: 'ok' })!;
    await Bun.write(join(dir, 'res', 'b.yaml'), hep('gw2-eth1', { node: 'gw2', iface: 'eth1', labels: { role: 'gw' } }));
    await Bun.write(join(dir, 'res', 'bad.yaml'), gnp('broken', `selector: "role == "\ningress: [{action: Allow}]`));
    m = await scrapeUntil(DEFAULT, (x) => sampleValue(x, 'outpost_relay_nodes') === 2 && (sampleValue(x, 'outpost_relay_publishes_total', { result: 'ok' }) ?? 0) > published, 'two nodes published', r);
    expect(sampleValue(m, 'outpost_relay_revision')).toBeGreaterThan(revision!);
    m = await scrapeUntil(DEFAULT, (x) => sampleValue(x, 'outpost_relay_held_back_resources') === 1, 'one resource held back', r);

    // A second relay on this host, default address: it runs, says why it has no endpoint.
    const second = relay(11884);
    await waitLog(second, (l) => l.msg === 'no metrics and health endpoint (set metricsListen to another address, or off)' && String(l['err']).includes(`cannot listen on ${DEFAULT}: the address is already in use`));
    await waitLog(second, (l) => l.msg === 'outpost relay starting');
    expect(second.running).toBe(true);
    expect(logLines(second).find((l) => l.msg.startsWith('no metrics'))?.['level']).toBe('warn');
    await second.stop();
  }, 60_000);

  test('an explicit address that is taken stops the relay, naming it; off listens nowhere; text logs', async () => {
    const busy = relay(11885, ['--metrics-listen', DEFAULT]);
    expect(await busy.exited).not.toBe(0);
    expect(busy.stderr).toContain(`metricsListen: cannot listen on ${DEFAULT}: the address is already in use`);
    const bad = relay(11886, ['--metrics-listen', 'localhost:9469']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr).toContain('"localhost" is not an IPv4 address');
    const off = relay(11887, ['--metrics-listen', 'off', '--log-format', 'text']);
    await off.waitFor(/ INFO  outpost relay starting /, 15_000);
    expect(await listeners(lab, 'hub', off.pid)).toEqual(['127.0.0.1:11887']);
    expect(off.stderr).not.toContain('metrics and health endpoint listening');
    await off.stop();
  }, 60_000);
});
