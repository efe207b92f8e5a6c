/**
 * An air-gapped agent: trustKey + bundleDir and NO broker setting, real nft, real packets
 * (c1 → gw). No MQTT link, no broker path in its ruleset; a bundle dropped into the folder is
 * enforced, a tampered one refused (enforcement stays), and `outpost bundle import` still reaches
 * the running agent through its inbox. Fails on the code before bundles alone were a source of
 * policy (the agent refused to start: "a source of policy is required").
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { MAIN, isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { HUB, SyncLab, logLines, waitLog } from './sync-harness.ts';
import type { LabProcess } from '../lab/lab.ts';
import { bundleCli, dropBundle } from './bundle-lab.ts';

let h: SyncLab;
let agent: LabProcess;

const cli = bundleCli;

/** gw's bundle: gw allows TCP `port` only; exported now (fresh, so the age rule lets it in). */
async function exportBundle(name: string, port: number): Promise<Buffer> {
  const res = h.path(`res-${name}`);
  mkdirSync(res, { recursive: true });
  writeFileSync(`${res}/site.yaml`, hep('gw-eth1', { iface: 'eth1', node: 'gw', labels: { role: 'web' } }) + gnp('web', `selector: role == 'web'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`));
  const out = h.path(`${name}.bundle`);
  const r = await cli('export', '--node', 'gw', '--resources', res, '--signing-key', h.path('relay.key'), '--out', out);
  if (r.code !== 0) throw new Error(r.err);
  return Bun.file(out).bytes().then((b) => Buffer.from(b));
}

const drop = (content: Uint8Array | string) => dropBundle(h, content);

const flows = () => h.gwFlows();

describe.skipIf(!isRoot)('air-gapped agent: signed bundles alone, no broker', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    mkdirSync(h.path('drop'));
    agent = h.lab.spawn('gw', [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'gw', '--trust-key', h.path('relay.pub'), '--bundle-dir', h.path('drop'), '--state', h.path('state-gw')]);
    await waitLog(agent, (l) => l.msg === 'watching for offline bundles');
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('a dropped bundle is enforced; no MQTT link and no broker path', async () => {
    drop(await exportBundle('v1', 80));
    const line = await waitLog(agent, (l) => l.msg === 'ruleset in force');
    expect(line['from']).toBe('drop');
    expect(await flows()).toEqual({ 80: true, 443: false });
    const lines = logLines(agent);
    expect(lines.some((l) => l.msg.startsWith('no broker: air-gapped agent'))).toBe(true);
    expect(lines.some((l) => l.msg === 'connected to broker' || l.msg.startsWith('broker unreachable'))).toBe(false);
    // The status stays local: logged, never published.
    expect(lines.filter((l) => l.msg === 'status').at(-1)?.['state']).toBe('in-sync');
    const ruleset = (await h.lab.exec('gw', ['nft', 'list', 'ruleset'])).stdout;
    expect(ruleset).not.toContain(HUB.v4);
  });

  test('a tampered bundle is refused with its reason; enforcement stays', async () => {
    const newer = await exportBundle('v2', 443);
    // One bit of the compressed plan flipped: only the signature can tell.
    const tampered = Buffer.from(newer);
    tampered[tampered.length - 5]! ^= 1;
    expect(tampered.equals(newer)).toBe(false);
    const after = logLines(agent).length;
    drop(tampered);
    const r = await waitLog(agent, (l) => l.msg.startsWith('snapshot refused'), 10_000, after);
    expect(r['reason']).toBe('bad-signature');
    expect(r['from']).toBe('drop');
    expect(await flows()).toEqual({ 80: true, 443: false });
  });

  test('`outpost bundle import` reaches the running air-gapped agent through its inbox', async () => {
    await exportBundle('v3', 443);
    const r = await cli('import', h.path('v3.bundle'), '--config', '/dev/null', '--node', 'gw', '--trust-key', h.path('relay.pub'), '--bundle-dir', h.path('drop'), '--state', h.path('state-gw'), '--wait', '20');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('the running agent: revision');
    expect(await flows()).toEqual({ 80: false, 443: true });
  });
});
