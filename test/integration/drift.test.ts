/**
 * Drift repair with the real agent, the real nft and real packets: someone else flushes the
 * ruleset, deletes the table, flushes one of our chains or inserts an accept into it, and the
 * agent restores its ruleset on its own (the test waits up to 5 s; no timing figure is asserted)
 * and says what it found. Another table is added and removed meanwhile and is never touched.
 * Fails on the agent before drift-watch.ts: nothing was restored until the next policy change.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { EnforcementHarness, isRoot, tcp } from './harness.ts';
import { doc, gnp, hep } from './fixtures.ts';
import type { LabProcess } from '../lab/lab.ts';

const GW1 = '198.18.1.1';
let h: EnforcementHarness;
let agent: LabProcess;

const C1 = '198.18.1.2';
// 80 from anywhere, 443 only from the "clients" network set (a named nft set), 8080 denied.
const FLOWS = [tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, true), tcp('c1', GW1, 8080, false)];
const POLICY =
  gnp('web', "selector: role == 'gw'\ningress:\n- {action: Allow, protocol: TCP, destination: {ports: [80]}}\n- {action: Allow, protocol: TCP, source: {selector: \"set == 'clients'\"}, destination: {ports: [443]}}") +
  doc('GlobalNetworkSet', 'clients', `nets: [${C1}/32]`, { set: 'clients' });
const OTHER = 'table inet other {\n  chain input {\n    type filter hook input priority 10; policy accept;\n    counter accept comment "not outpost"\n  }\n}\n';

const restoredLines = () => agent.stderr.split('\n').filter((l) => /by someone else.*; restored"/.test(l));

async function waitRestored(before: number, timeoutMs = 5000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const lines = restoredLines();
    if (lines.length > before) return lines[lines.length - 1]!;
    await Bun.sleep(50);
  }
  throw new Error(`no restore within ${timeoutMs} ms; log:\n${agent.stderr.slice(-3000)}`);
}

const nft = (...args: string[]) => h.s.lab.exec('gw', ['nft', ...args], { reject: false });

describe.skipIf(!isRoot)('drift repair', () => {
  beforeAll(async () => {
    h = await EnforcementHarness.create();
    await h.writeResources({
      'heps.yaml': hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }),
      'policy.yaml': POLICY,
    });
    agent = h.spawnAgent();
    const until = Date.now() + 15_000;
    while (!agent.stderr.includes('ruleset in force')) {
      if (Date.now() > until) throw new Error(`agent did not start:\n${agent.stderr}`);
      await Bun.sleep(50);
    }
    expect(await h.mismatches(FLOWS)).toEqual([]);
  });
  afterAll(async () => {
    await agent?.stop();
    await h?.destroy();
  });

  const cases: [string, string[], RegExp][] = [
    ['nft flush ruleset', ['flush', 'ruleset'], /table inet outpost was deleted.* by someone else; restored/],
    ['nft delete table inet outpost', ['delete', 'table', 'inet', 'outpost'], /table inet outpost was deleted by someone else; restored/],
    ['nft flush chain inet outpost d-fh', ['flush', 'chain', 'inet', 'outpost', 'd-fh'], /edited by someone else \(delete rule inet outpost d-fh/],
    ['nft insert rule inet outpost filter-input accept', ['insert', 'rule', 'inet', 'outpost', 'filter-input', 'accept'], /edited by someone else \(insert rule inet outpost filter-input accept/],
  ];
  for (const [what, args, logged] of cases) {
    test(`${what}: restored, the denied port is denied again`, async () => {
      const before = restoredLines().length;
      const r = await nft(...args);
      expect(r.stderr).toBe('');
      const line = await waitRestored(before);
      expect(line).toMatch(logged);
      expect(await h.mismatches(FLOWS)).toEqual([]);
      expect((await nft('list', 'chain', 'inet', 'outpost', 'filter-input')).stdout).not.toMatch(/^\s*accept\s*$/m);
    });
  }

  test('a named set emptied by someone else is refilled', async () => {
    const set = (await nft('list', 'sets', 'inet')).stdout.match(/set (s-[A-Za-z0-9_-]+-4) /)?.[1];
    expect(set).toBeDefined();
    const before = restoredLines().length;
    expect((await nft('flush', 'set', 'inet', 'outpost', set!)).stderr).toBe('');
    expect(await waitRestored(before)).toMatch(/edited by someone else \(delete element inet outpost s-/);
    expect(await h.mismatches(FLOWS)).toEqual([]);
  });

  test('another table is never touched, and its changes trigger nothing', async () => {
    const before = restoredLines().length;
    const applied = agent.stderr.split('\n').filter((l) => l.includes('ruleset applied') || l.includes('ruleset in force')).length;
    expect((await h.s.lab.exec('gw', ['nft', '-f', '-'], { input: OTHER, reject: false })).stderr).toBe('');
    await nft('add', 'rule', 'inet', 'other', 'input', 'counter', 'drop');
    await nft('flush', 'chain', 'inet', 'other', 'input');
    await nft('add', 'rule', 'inet', 'other', 'input', 'counter', 'accept', 'comment', '"not outpost"');
    await Bun.sleep(1500);
    expect((await nft('list', 'table', 'inet', 'other')).stdout).toContain('comment "not outpost"');
    await nft('delete', 'table', 'inet', 'other');
    await Bun.sleep(1000);
    expect(restoredLines().length).toBe(before);
    expect(agent.stderr.split('\n').filter((l) => l.includes('ruleset applied') || l.includes('ruleset in force')).length).toBe(applied);
    expect(await h.mismatches(FLOWS)).toEqual([]);
  });
});
