import { afterEach, beforeEach, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDegradedPlan } from '../../../src/agent/degraded-policy.ts';
import { gnp, hep } from '../../integration/fixtures.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-degraded-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('computes this node\'s plan from the folder, leaving out (and naming) invalid resources', async () => {
  await writeFile(join(dir, 'ok.yaml'), hep('gw-eth0', { iface: 'eth0', node: 'gw', labels: { role: 'gw' } }) + gnp('mgmt', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [22]}}]`));
  await writeFile(join(dir, 'bad.yaml'), gnp('broken', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [99999]}}]`));
  const r = await loadDegradedPlan([dir], 'gw');
  if (r instanceof Error) throw r;
  expect(r.plan.node).toBe('gw');
  expect(r.plan.endpoints.map((e) => e.name)).toEqual(['gw-eth0']);
  expect(r.plan.policies.map((p) => p.name)).toEqual(['mgmt']);
  expect(r.problems.join('\n')).toContain('broken');
});

test('a folder that cannot be read is an error (the caller keeps the stale snapshot)', async () => {
  const r = await loadDegradedPlan([join(dir, 'missing')], 'gw');
  expect(r).toBeInstanceOf(Error);
});
