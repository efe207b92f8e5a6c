/**
 * The folder relay under faults, with a real agent and real packets: it starts with a hostile
 * file present (and every other file flows), and after a restart with files older than its last
 * publication (touch -d), edits still reach agents instead of being refused as stale: through
 * the broker's retained snapshots, and through --state when the broker lost them (a Mosquitto
 * restart here; the embedded broker always forgets them with the relay).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';
import type { LabProcess } from '../lab/lab.ts';

const allowPort = (port: number) => gnp('web', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);
const OLD = new Date('2001-01-01T00:00:00Z');

let h: SyncLab;
let dir: string;
let relay: LabProcess | undefined;
let agent: LabProcess;

const flows = () => h.gwFlows();
const applied = () => logLines(agent).filter(inForce()).length;
async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms\nagent:\n${agent.stderr.slice(-2500)}\nrelay:\n${relay?.stderr.slice(-2500)}`);
    await Bun.sleep(50);
  }
}
/** Writes the policy file and dates it (and the folder) back to 2001. */
async function writeOld(port: number): Promise<void> {
  await writeFile(join(dir, 'policy.yaml'), allowPort(port));
  for (const p of [join(dir, 'policy.yaml'), join(dir, 'heps.yaml'), join(dir, 'zz-hostile.json'), dir]) await utimes(p, OLD, OLD);
}

describe.skipIf(!isRoot)('folder relay faults (real agent, real packets)', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    dir = h.path('policies');
    await mkdir(dir);
    await writeFile(join(dir, 'heps.yaml'), hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }));
    await writeFile(join(dir, 'policy.yaml'), allowPort(80));
    // Sorted last, nested 200k deep: the input that made the relay exit 1.
    await writeFile(join(dir, 'zz-hostile.json'), `${'['.repeat(200_000)}${']'.repeat(200_000)}`);
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('the relay starts with a hostile file present; every other file is published and edits flow', async () => {
    relay = h.relay(['--resources', dir]);
    await waitLog(relay, (l) => l.msg === 'snapshots published');
    expect(relay.stderr).toContain('zz-hostile.json');
    agent = h.agent('gw');
    await waitLog(agent, inForce());
    expect(await flows()).toEqual({ 80: true, 443: false });
    const before = applied();
    await writeFile(join(dir, 'policy.yaml'), allowPort(443));
    await until(() => applied() > before, 'the edit applied');
    expect(await flows()).toEqual({ 80: false, 443: true });
  });

  test('restarted with files older than its last publication (retained snapshots on Mosquitto): the edit is applied, not refused as stale', async () => {
    await relay!.stop();
    await writeOld(80);
    const before = applied();
    relay = h.relay(['--resources', dir]);
    await until(() => applied() > before, 'the edit applied after the restart');
    expect(await flows()).toEqual({ 80: true, 443: false });
    expect(agent.stderr).not.toContain('stale');
    // And the next edit, dated back too, still moves forward.
    const again = applied();
    await writeOld(443);
    await until(() => applied() > again, 'the next old-dated edit applied');
    expect(await flows()).toEqual({ 80: false, 443: true });
  });

  test('a broker that lost its retained messages (restarted, as the embedded one always is) and --state: a restart with older files still moves forward', async () => {
    await relay!.stop();
    const args = ['--resources', dir, '--state', h.path('relay-state')];
    // A first run with --state, at a revision above what the agent holds, so the state dir has it.
    await writeFile(join(dir, 'policy.yaml'), allowPort(80));
    relay = h.relay(args);
    await until(async () => (await flows())[80] === true, 'the first --state revision applied');
    await relay.stop();
    await h.mosquitto.stop();
    await h.mosquitto.resume();
    await writeOld(443);
    const before = applied();
    relay = h.relay(args);
    await until(() => applied() > before, 'the edit applied after the restart');
    expect(await flows()).toEqual({ 80: false, 443: true });
    expect(agent.stderr).not.toContain('stale');
  });
});
