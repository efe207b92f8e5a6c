/**
 * The long-running agent: file edits re-apply, bad input keeps the last good enforcement, and
 * a failed nft transaction leaves the previous ruleset in force and is retried. Real nft (behind
 * a wrapper that can be told to fail), real packets.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnforcementHarness, isRoot, tcp } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import type { LabProcess } from '../lab/lab.ts';

const GW1 = '198.18.1.1';
let h: EnforcementHarness;
let agent: LabProcess;
let failMarker: string;
let lieMarker: string;

/** Waits until `re` has matched more than `already` lines of the agent's log. */
async function logCount(re: RegExp): Promise<number> {
  return agent.stderr.split('\n').filter((l) => re.test(l)).length;
}
async function waitForMore(re: RegExp, already: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if ((await logCount(re)) > already) return;
    await Bun.sleep(50);
  }
  throw new Error(`agent never logged ${re} (${already} before) within ${timeoutMs} ms; log:\n${agent.stderr.slice(-3000)}`);
}

/** Sum of every counter in the outpost table. */
async function counterPackets(): Promise<number> {
  const out = (await h.s.lab.exec('gw', ['nft', '-j', 'list', 'table', 'inet', 'outpost'])).stdout;
  return [...out.matchAll(/"counter": \{"packets": (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

const HEPS = hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } });
const allowPort = (port: number) => gnp('web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);
const IN_FORCE = /ruleset in force/;

describe.skipIf(!isRoot)('long-running agent', () => {
  beforeAll(async () => {
    h = await EnforcementHarness.create();
    const wrapper = join(h.state, '..', 'flaky-nft');
    failMarker = join(h.state, '..', 'fail-nft');
    lieMarker = join(h.state, '..', 'lie-nft');
    // Real nft, unless a marker exists: fail-nft makes an apply (-f) fail like a rejected
    // transaction; lie-nft makes a listing come back empty, as if the kernel held something else.
    await writeFile(
      wrapper,
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = "-f" ] && [ -e "${failMarker}" ] && { echo "Error: simulated failure" >&2; exit 1; }; done\n` +
        `for a in "$@"; do [ "$a" = "list" ] && [ -e "${lieMarker}" ] && { echo '{"nftables": []}'; exit 0; }; done\nexec nft "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    await h.writeResources({ 'heps.yaml': HEPS, 'policy.yaml': allowPort(80) });
    agent = h.spawnAgent(['--nft', wrapper]);
    await waitForMore(IN_FORCE, 0, 10_000);
  });
  afterAll(async () => {
    await agent?.stop();
    await h?.destroy();
  });

  test('enforces at start, then re-applies when a file is edited', async () => {
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
    const before = await logCount(IN_FORCE);
    await writeFile(join(h.dir, 'policy.yaml'), allowPort(443));
    await waitForMore(IN_FORCE, before);
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1, 443, true)])).toEqual([]);
  });

  test('a file that does not parse keeps the enforcement in force and is reported', async () => {
    const errors = await logCount(/invalid resource/);
    await writeFile(join(h.dir, 'policy.yaml'), 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: web\n  spec: [');
    await waitForMore(/invalid resource/, errors);
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1, 443, true)])).toEqual([]);
  });

  test('an invalid edit of a resource keeps its last valid version', async () => {
    const errors = await logCount(/invalid resource/);
    await writeFile(join(h.dir, 'policy.yaml'), gnp('web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}]`));
    await waitForMore(/invalid resource/, errors);
    expect(agent.stderr).toContain('spec.ingress[0].destination.ports[0]');
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1, 443, true)])).toEqual([]);
  });

  test('a failed nft apply leaves the previous ruleset in force and is retried until it succeeds', async () => {
    await writeFile(failMarker, '');
    const failures = await logCount(/applying ruleset failed/);
    await writeFile(join(h.dir, 'policy.yaml'), allowPort(80));
    await waitForMore(/applying ruleset failed/, failures);
    expect(agent.stderr).toContain('simulated failure');
    expect(await h.mismatches([tcp('c1', GW1, 80, false), tcp('c1', GW1, 443, true)])).toEqual([]);

    const recovered = await logCount(/applied after earlier failures/);
    await rm(failMarker);
    await waitForMore(/applied after earlier failures/, recovered, 10_000);
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
  });

  test('a read-back that does not match what was applied counts as a failure and is retried', async () => {
    await writeFile(lieMarker, '');
    const failures = await logCount(/read-back verification failed/);
    await writeFile(join(h.dir, 'policy.yaml'), allowPort(443));
    await waitForMore(/read-back verification failed/, failures);
    const recovered = await logCount(/applied after earlier failures/);
    await rm(lieMarker);
    await waitForMore(/applied after earlier failures/, recovered, 10_000);
    await writeFile(join(h.dir, 'policy.yaml'), allowPort(80));
    await waitForMore(IN_FORCE, await logCount(IN_FORCE));
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
  });

  test('an unchanged ruleset is not re-applied (kernel counters survive a reload)', async () => {
    await h.mismatches([tcp('c1', GW1, 80, true)]);
    const before = await counterPackets();
    expect(before).toBeGreaterThan(0);
    const reloads = await logCount(IN_FORCE);
    const text = await Bun.file(join(h.dir, 'heps.yaml')).text();
    await writeFile(join(h.dir, 'heps.yaml'), `${text}\n`); // new mtime and size, same resources
    await waitForMore(IN_FORCE, reloads);
    // Re-creating the table would have reset every counter to zero.
    expect(await counterPackets()).toBeGreaterThanOrEqual(before);
  });

  test('a HEP picked by expectedIP takes over an interface when the address appears', async () => {
    const GW2 = '198.18.2.1';
    let applies = await logCount(IN_FORCE);
    await writeFile(join(h.dir, 'heps.yaml'), HEPS + hep('by-ip', { ips: ['198.18.2.50'] }));
    await waitForMore(IN_FORCE, applies);
    expect(await h.mismatches([tcp('c2', GW2, 443, true)])).toEqual([]);

    applies = await logCount(IN_FORCE);
    await h.s.lab.exec('gw', ['ip', 'addr', 'add', '198.18.2.50/24', 'dev', 'eth2']);
    try {
      await waitForMore(IN_FORCE, applies);
      // by-ip has no policy and no profile: eth2 now denies all but the failsafe.
      expect(await h.mismatches([tcp('c2', GW2, 443, false), tcp('c2', GW2, 22, true)])).toEqual([]);
    } finally {
      await h.s.lab.exec('gw', ['ip', 'addr', 'del', '198.18.2.50/24', 'dev', 'eth2'], { reject: false });
    }
    applies = await logCount(IN_FORCE);
    await writeFile(join(h.dir, 'heps.yaml'), HEPS);
    await waitForMore(IN_FORCE, applies);
    expect(await h.mismatches([tcp('c2', GW2, 443, true)])).toEqual([]);
  });

  test('stopping the agent leaves the ruleset in force', async () => {
    await agent.stop();
    expect(agent.running).toBe(false);
    expect(await h.mismatches([tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, false)])).toEqual([]);
  });
});
