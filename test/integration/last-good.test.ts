/**
 * Nothing fails open: a resource that outpost refuses keeps its last valid version in force, in
 * the running agent and across a restart (local mode records it in the state dir), and one that
 * was never valid is reported as not enforced. Real nftables, real packets.
 */
import { describe, expect, test } from 'bun:test';
import { EnforcementHarness, useEnforcementHarness, isRoot, tcp } from './harness.ts';
import { gnp, hep } from './fixtures.ts';

let h: EnforcementHarness;
const GW1 = '198.18.1.1';

const policy = gnp('web-only', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]`);

async function once(): Promise<{ exitCode: number | null; log: string }> {
  const r = await h.s.lab.exec('gw', h.agentArgs(['--once']), { reject: false, timeoutMs: 30_000 });
  return { exitCode: r.exitCode, log: `${r.stdout}\n${r.stderr}` };
}

describe.skipIf(!isRoot)('last valid version (real nftables, real packets)', () => {
  useEnforcementHarness((x) => (h = x));

  test('a HEP that turns invalid keeps its last valid version after a restart with the table gone', async () => {
    await h.enforce({ 'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }), 'p.yaml': policy });
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);

    // An edit the agent refuses (a node name that is not a DNS name), then a reboot: no table.
    await h.writeResources({ 'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }).replace('node: gw', 'node: GW_1'), 'p.yaml': policy });
    await h.deleteTable();
    const r = await once();
    expect(r.exitCode).toBe(0);
    expect(r.log).toContain("HostEndpoint 'gw-eth1'");
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
  });

  test('a file that no longer parses keeps everything it last held, across a restart', async () => {
    await h.enforce({ 'all.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + policy });
    await h.writeResources({ 'all.yaml': 'kind: HostEndpoint\n  metadata: [unclosed\n' });
    await h.deleteTable();
    expect((await once()).exitCode).toBe(0);
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
  });

  test('a HEP that was never valid is reported as not enforced', async () => {
    await h.writeResources({ 'hep.yaml': hep('gw-eth1', { iface: 'eth1' }).replace('node: gw', 'node: GW_1') });
    const r = await once();
    expect(r.log).toContain("NOT ENFORCED: HostEndpoint 'gw-eth1'");
    expect(await h.mismatches([tcp('c1', GW1, 443, true)])).toEqual([]);
  });

  test('an agent started with hostile files beside good ones enforces the good ones (and says what it refused)', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const bomb = ['apiVersion: projectcalico.org/v3', 'kind: GlobalNetworkSet', 'metadata: {name: bomb}', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array.from({ length: 10 }, () => `*a${i}`).join(', ')}]`), 'spec: {nets: *a8}'].join('\n');
    await h.writeResources({ 'deep.json': deep, 'bomb.yaml': bomb, 'hep.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }), 'p.yaml': policy });
    const r = await once();
    expect(r.exitCode).toBe(0);
    expect(r.log).toContain('deep.json');
    expect(r.log).toContain('bomb.yaml');
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
  });
});
