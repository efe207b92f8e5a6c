/**
 * Offline bundles on a real agent, real nft, real packets (c1 → gw): no relay runs at all.
 * A bundle dropped into the watched folder is enforced; tampered, truncated, wrong-node,
 * wrong-key and older bundles dropped there are refused with their reason and enforcement does
 * not move; `outpost bundle import` hands a newer bundle to the running agent (applied) and an
 * older one is refused.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { privateKeyToPem } from '../../src/platform/signing.ts';
import { isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { SyncLab, logLines, waitLog } from './sync-harness.ts';
import type { LabProcess } from '../lab/lab.ts';
import { bundleCli, dropBundle } from './bundle-lab.ts';

let h: SyncLab;
let agent: LabProcess;

const cli = bundleCli;

/** Writes the site's resources (gw and c2 allow `port`) with file times `when`, and exports node's bundle. */
async function exportBundle(name: string, port: number, when: string, opts: { node?: string; key?: string } = {}): Promise<string> {
  const res = h.path(`res-${name}`);
  mkdirSync(res, { recursive: true });
  const web = gnp('web', `selector: role == 'web'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);
  writeFileSync(`${res}/site.yaml`, hep('gw-eth1', { iface: 'eth1', node: 'gw', labels: { role: 'web' } }) + hep('c2-eth0', { iface: 'eth0', node: 'c2', labels: { role: 'web' } }) + web);
  Bun.spawnSync(['touch', '-d', when, `${res}/site.yaml`, res]);
  const out = h.path(`${name}.bundle`);
  const r = await cli('export', '--node', opts.node ?? 'gw', '--resources', res, '--signing-key', h.path(opts.key ?? 'relay.key'), '--out', out);
  if (r.code !== 0) throw new Error(r.err);
  return out;
}

const drop = (content: Uint8Array | string) => dropBundle(h, content);

const flows = () => h.gwFlows();

const refusals = () => logLines(agent).filter((l) => l.msg.startsWith('snapshot refused'));

async function expectDropRefused(content: Uint8Array | string, reason: string, held: Record<number, boolean>): Promise<void> {
  const before = refusals().length;
  drop(content);
  await waitLog(agent, (l) => l.msg.startsWith('snapshot refused'), 10_000, logLines(agent).length);
  const r = refusals()[before];
  expect(r?.['reason']).toBe(reason);
  expect(r?.['from']).toBe('drop');
  expect(await flows()).toEqual(held);
}

describe.skipIf(!isRoot)('offline bundles: drop folder and import on a running agent', () => {
  let v1: string;
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    mkdirSync(h.path('drop'));
    writeFileSync(h.path('other.key'), privateKeyToPem(h.keys.other.privateKey), { mode: 0o600 });
    v1 = await exportBundle('v1', 80, '2026-01-01T00:00:00Z');
    // No relay anywhere: the broker is up but silent, as on an air-gapped site's LAN.
    agent = h.agent('gw', ['--bundle-dir', h.path('drop')]);
    await waitLog(agent, (l) => l.msg === 'watching for offline bundles');
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('a valid bundle in the drop folder is enforced', async () => {
    drop(readFileSync(v1));
    const line = await waitLog(agent, (l) => l.msg === 'ruleset in force');
    expect(line['from']).toBe('drop');
    expect(await flows()).toEqual({ 80: true, 443: false });
  });

  test('tampered, truncated, wrong-node, wrong-key and older bundles are refused; enforcement stays', async () => {
    const held = { 80: true, 443: false };
    const newer = readFileSync(await exportBundle('v2', 443, '2026-02-01T00:00:00Z'));
    // One bit of the compressed plan flipped: only the signature can tell.
    const tampered = Buffer.from(newer);
    tampered[tampered.length - 5]! ^= 1;
    expect(tampered.equals(newer)).toBe(false);
    await expectDropRefused(tampered, 'bad-signature', held);
    // Cut inside the signed head (a copy that stopped early).
    await expectDropRefused(newer.subarray(0, 100), 'malformed', held);
    await expectDropRefused(readFileSync(await exportBundle('c2', 443, '2026-02-01T00:00:00Z', { node: 'c2' })), 'wrong-node', held);
    await expectDropRefused(readFileSync(await exportBundle('forged', 443, '2026-02-01T00:00:00Z', { key: 'other.key' })), 'bad-signature', held);
    await expectDropRefused(readFileSync(await exportBundle('old', 443, '2025-06-01T00:00:00Z')), 'stale', held);
    expect(refusals().at(-1)?.msg).toContain('older than');
  });

  test('`outpost bundle import` hands a newer bundle to the running agent: applied; an older one is refused', async () => {
    const agentArgs = ['--config', '/dev/null', '--node', 'gw', '--broker', 'mqtt://198.18.4.2:1883', '--trust-key', h.path('relay.pub'), '--state', h.path('state-gw')];
    const v3 = await exportBundle('v3', 443, '2026-03-01T00:00:00Z');
    const r = await cli('import', v3, ...agentArgs, '--wait', '20');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('the running agent: revision');
    expect(r.out).toContain('applied');
    expect(await flows()).toEqual({ 80: false, 443: true });
    const line = logLines(agent).filter((l) => l.msg === 'ruleset in force').at(-1);
    expect(line?.['from']).toBe('import');

    const old = await cli('import', v1, ...agentArgs, '--wait', '20');
    expect(old.code).toBe(1);
    expect(old.err).toContain('refused (stale)');
    expect(await flows()).toEqual({ 80: false, 443: true });
  });

  test('the drop folder vanishing (USB pulled) changes nothing; a stick that comes back with the same bundle is not re-applied', async () => {
    const applied = logLines(agent).filter((l) => l.msg === 'ruleset in force').length;
    renameSync(h.path('drop'), h.path('drop-unplugged'));
    await Bun.sleep(2500);
    renameSync(h.path('drop-unplugged'), h.path('drop'));
    copyFileSync(h.path('v3.bundle'), h.path('drop/gw.bundle'));
    await waitLog(agent, (l) => l.msg === 'bundle found in the drop folder', 10_000, logLines(agent).length);
    await Bun.sleep(500);
    expect(logLines(agent).filter((l) => l.msg === 'ruleset in force').length).toBe(applied);
    expect(await flows()).toEqual({ 80: false, 443: true });
  });
});
