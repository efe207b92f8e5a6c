/**
 * The agent's metrics and health endpoint, with the real agent (local mode) in a namespace, real
 * nft and real packets:
 * - off by default: no listening socket at all;
 * - with metricsListen: /readyz 503 before the first apply (nft held back by a wrapper), 200
 *   after; applies_total and the duration histogram count it; per-policy counters rise with the
 *   packets sent (metricsPolicyCounters);
 * - a port already taken: the agent stops at once, naming the address, before touching nft.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type LabProcess } from '../lab/lab.ts';
import { isRoot, MAIN } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { inForce, logLines, waitLog } from './sync-harness.ts';
import { sampleValue } from '../unit/observe/prom-text.ts';
import { get, listeners, metrics } from './metrics-scrape.ts';

const GW = '198.18.61.1';
const C1 = '198.18.61.2';
const ADDR = '127.0.0.1:9469';
const RESOURCES = hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + gnp('allow-web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]\negress: [{action: Allow}]`);

describe.skipIf(!isRoot)('agent metrics endpoint', () => {
  let lab: Lab;
  let dir: string;
  const agents: LabProcess[] = [];
  const agent = (state: string, extra: string[]) => {
    const p = lab.spawn('gw', [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'gw', '--resources', join(dir, 'res'), '--state', join(dir, state), ...extra]);
    agents.push(p);
    return p;
  };

  beforeAll(async () => {
    lab = await Lab.create();
    await Promise.all([lab.addHost('gw'), lab.addHost('c1')]);
    await lab.link('gw', 'eth1', [`${GW}/24`], 'c1', 'eth0', [`${C1}/24`]);
    await lab.startResponder('gw', { tcp: [80, 8080] });
    dir = await mkdtemp(join(tmpdir(), 'outpost-metrics-agent-'));
    await Bun.write(join(dir, 'res', 'all.yaml'), RESOURCES);
  });
  afterAll(async () => {
    for (const a of agents) await a.stop();
    await lab?.destroy();
  });

  test('off by default: the agent applies and listens on nothing', async () => {
    const a = agent('state-off', []);
    await waitLog(a, inForce());
    expect(await listeners(lab, 'gw', a.pid)).toEqual([]);
    expect((await get(lab, 'gw', ADDR, '/livez')).status).toBe(0);
    expect(logLines(a).some((l) => String(l.msg).includes('metrics'))).toBe(false);
    await a.stop();
  });

  test('on: not ready before the first apply, ready after; applies and per-policy packets counted', async () => {
    // nft is held back until `go` exists, so the endpoint is up before the first apply ends.
    const go = join(dir, 'go');
    const wrapper = join(dir, 'slow-nft');
    await writeFile(wrapper, `#!/bin/sh\nfor a in "$@"; do [ "$a" = "-f" ] && while [ ! -e "${go}" ]; do sleep 0.05; done; done\nexec nft "$@"\n`);
    await chmod(wrapper, 0o755);
    const a = agent('state-on', ['--nft', wrapper, '--metrics-listen', ADDR, '--metrics-policy-counters', '--log-format', 'json']);
    await waitLog(a, (l) => l.msg === 'metrics and health endpoint listening (/metrics, /livez, /readyz)' && l['listen'] === ADDR);
    expect(await listeners(lab, 'gw', a.pid)).toEqual([ADDR]);
    expect(existsSync(go)).toBe(false);
    const before = await get(lab, 'gw', ADDR, '/readyz');
    expect([before.status, before.body]).toEqual([503, 'not ready: no ruleset applied yet\n']);
    expect((await get(lab, 'gw', ADDR, '/livez')).status).toBe(200);
    let m = await metrics(lab, 'gw', ADDR);
    expect(sampleValue(m, 'outpost_agent_applies_total', { result: 'ok' })).toBe(0);

    await writeFile(go, '');
    await waitLog(a, inForce());
    const after = await get(lab, 'gw', ADDR, '/readyz');
    expect([after.status, after.body]).toEqual([200, 'ready\n']);
    const scrape = await get(lab, 'gw', ADDR, '/metrics');
    expect(scrape.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    m = await metrics(lab, 'gw', ADDR);
    const applied = sampleValue(m, 'outpost_agent_applies_total', { result: 'ok' })!;
    expect(applied).toBeGreaterThanOrEqual(1);
    expect(sampleValue(m, 'outpost_agent_applies_total', { result: 'failed' })).toBe(0);
    expect(sampleValue(m, 'outpost_agent_apply_duration_seconds_count')).toBe(applied);
    expect(sampleValue(m, 'outpost_agent_last_apply_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(sampleValue(m, 'outpost_agent_seconds_since_last_sync')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(m, 'outpost_agent_state', { state: 'in-sync' })).toBe(1);
    expect(sampleValue(m, 'outpost_agent_held_back_resources')).toBe(0);
    const web = () => sampleValue(m, 'outpost_agent_policy_packets_total', { policy: 'default/allow-web', direction: 'inbound' });
    const start = web()!;
    expect(start).toBeGreaterThanOrEqual(0);

    // Real packets: 3 connections to the allowed port, one to a denied one.
    for (let i = 0; i < 3; i++) expect(await lab.tcp('c1', GW, 80)).toBe(true);
    expect(await lab.tcp('c1', GW, 8080, { timeoutMs: 1000 })).toBe(false);
    m = await metrics(lab, 'gw', ADDR);
    // Each new connection is one packet through the policy (the rest are established);
    // the denied one also reached the policy (it was evaluated, and did not match).
    expect(web()! - start).toBeGreaterThanOrEqual(4);

    // A file change is another apply: the counter moves.
    await Bun.write(join(dir, 'res', 'all.yaml'), RESOURCES.replace('ports: [80]', 'ports: [80, 8080]'));
    await waitLog(a, inForce(), 15_000, logLines(a).findLastIndex(inForce()) + 1);
    m = await metrics(lab, 'gw', ADDR);
    expect(sampleValue(m, 'outpost_agent_applies_total', { result: 'ok' })).toBeGreaterThan(applied);

    // An invalid resource is held back, and the gauge says so (the state stays in-sync).
    await Bun.write(join(dir, 'res', 'bad.yaml'), 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: bad}\nspec: {selector: "role ==", ingress: [{action: Allow}]}\n');
    const end = Date.now() + 15_000;
    while (sampleValue((m = await metrics(lab, 'gw', ADDR)), 'outpost_agent_held_back_resources') !== 1 && Date.now() < end) await Bun.sleep(200);
    expect(sampleValue(m, 'outpost_agent_held_back_resources')).toBe(1);
    expect(sampleValue(m, 'outpost_agent_state', { state: 'in-sync' })).toBe(1);
  }, 60_000);

  test('a port already taken: the agent stops at once, naming the address, before any nft', async () => {
    // The agent of the previous test still holds ADDR.
    expect(await listeners(lab, 'gw', agents[1]!.pid)).toEqual([ADDR]);
    const marker = join(dir, 'nft-ran');
    const wrapper = join(dir, 'marking-nft');
    await writeFile(wrapper, `#!/bin/sh\ntouch "${marker}"\nexec nft "$@"\n`);
    await chmod(wrapper, 0o755);
    const b = agent('state-busy', ['--nft', wrapper, '--metrics-listen', ADDR]);
    expect(await b.exited).not.toBe(0);
    expect(b.stderr).toContain(`metricsListen: cannot listen on ${ADDR}: the address is already in use`);
    expect(existsSync(marker)).toBe(false);
  }, 30_000);
});
