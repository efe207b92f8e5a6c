/**
 * The systemd unit, without systemd as PID 1 (this machine has none):
 * - `systemd-analyze verify --root` checks it (that mode needs no running systemd) and
 *   `systemd-analyze security --offline` rates it;
 * - its sandbox is emulated and the real agent must enforce inside it, in local and in relay
 *   mode: setpriv gives exactly what the unit leaves (bounding, inheritable and ambient sets =
 *   CAP_NET_ADMIN, no_new_privs), a private mount namespace makes every mount read-only except
 *   the state directory (ProtectSystem=strict + StateDirectory=) and puts tmpfs on /tmp and
 *   /var/tmp (PrivateTmp=);
 * - strace lists every system call the agent and nft make, which must all pass the unit's
 *   SystemCallFilter.
 * Not emulated: seccomp itself, ProtectKernel*, ProtectProc, RestrictAddressFamilies and the
 * boot ordering; those need systemd.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMON, DIST } from '../../scripts/package/layout.ts';
import { binaryPath } from '../../scripts/build/targets.ts';
import type { LabProcess } from '../lab/lab.ts';
import { filterAllows, tracedSyscalls } from './syscall-filter.ts';
import { spawnSandboxed } from './unit-sandbox.ts';
import {
  ALLOWED_PORT, applianceLab, DENIED_PORT, isRoot, localModeConfig, NATIVE, ok, requireArtifact, RESOURCES, run, waitUntil,
  type ApplianceLab,
} from './support.ts';

const UNIT = join(COMMON, 'services/systemd/outpost-agent.service');

let app: ApplianceLab;
let base: string;
let bin: string;

const sandboxed = (args: string[]): LabProcess => spawnSandboxed(app.lab, 'app', base, 'net_admin', args);

async function inForce(p: LabProcess): Promise<void> {
  await waitUntil(
    'the agent never logged "ruleset in force"',
    async () => (p.stderr.includes('ruleset in force') ? true : p.running ? undefined : Promise.reject(new Error(`the agent exited:\n${p.stdout}\n${p.stderr}`))),
    async () => `${p.stdout}\n${p.stderr}`,
  );
}

/** A relay for node "app" in the appliance's namespace, on its loopback (its own embedded broker). */
async function startRelay(): Promise<LabProcess> {
  const relay = app.lab.spawn('app', [bin, 'relay', '--resources', join(base, 'resources'), '--listen', '127.0.0.1:1883', '--insecure', '--signing-key', join(base, 'relay.key')]);
  await waitUntil('the relay never published', async () => (relay.stderr.includes('snapshots published') ? true : undefined), async () => relay.stderr);
  return relay;
}

const hasStrace = Bun.which('strace') !== null;

describe.skipIf(!isRoot)('systemd unit outpost-agent.service', () => {
  beforeAll(async () => {
    bin = requireArtifact(binaryPath(DIST, NATIVE));
    app = await applianceLab();
    // Outside /tmp, which the sandbox replaces; only state/ is writable in there.
    base = await mkdtemp('/var/lib/outpost-sandbox-test-');
    await mkdir(join(base, 'resources'));
    await mkdir(join(base, 'etc'));
    await mkdir(join(base, 'state'), { mode: 0o700 });
    // Like /usr/bin/outpost, the binary must be visible in the sandbox: a checkout under /tmp
    // (as in CI) is hidden by the private /tmp.
    await copyFile(bin, join(base, 'outpost'));
    await chmod(join(base, 'outpost'), 0o755);
    for (const [name, text] of Object.entries(RESOURCES)) await writeFile(join(base, 'resources', name), text);
    await ok([bin, 'keygen', '--out', join(base, 'relay')]);
    await copyFile(join(base, 'relay.pub'), join(base, 'etc', 'relay.pub'));
  });
  afterAll(async () => {
    await app?.lab.destroy();
    if (base) await rm(base, { recursive: true, force: true });
  });

  test('systemd-analyze verify accepts it (with --root: no systemd as PID 1 needed)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'outpost-verify-'));
    try {
      for (const d of ['etc/systemd/system', 'usr/bin', 'bin']) await mkdir(join(root, d), { recursive: true });
      await copyFile(UNIT, join(root, 'etc/systemd/system/outpost-agent.service'));
      await copyFile(bin, join(root, 'usr/bin/outpost'));
      await copyFile('/bin/busybox', join(root, 'bin/sh')); // ExecStartPost's shell
      await chmod(join(root, 'bin/sh'), 0o755);
      const r = await run(['systemd-analyze', 'verify', `--root=${root}`, 'outpost-agent.service']);
      // verify exits 0 on mere warnings (an unknown key, say), so the output must be empty too.
      expect({ exitCode: r.exitCode, output: r.stdout + r.stderr }).toEqual({ exitCode: 0, output: '' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('systemd-analyze security rates its exposure OK, and the sandbox is what the README says', async () => {
    const r = await ok(['systemd-analyze', 'security', '--offline=true', UNIT]);
    const exposure = Number(/Overall exposure level for outpost-agent\.service: ([\d.]+)/.exec(r.stdout)?.[1]);
    expect(exposure).toBeLessThanOrEqual(2.5);
    const lines = (await readFile(UNIT, 'utf8')).split('\n').filter((l) => !l.startsWith('#'));
    for (const setting of ['CapabilityBoundingSet=CAP_NET_ADMIN', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'StateDirectory=outpost', 'PrivateTmp=yes', 'ProtectHome=yes', 'Before=network-pre.target shutdown.target', 'Wants=network-pre.target', 'DefaultDependencies=no', 'Restart=always']) {
      expect(lines).toContain(setting);
    }
    expect(lines.some((l) => l.startsWith('MemoryDenyWriteExecute') || l.startsWith('AmbientCapabilities'))).toBe(false);
    expect(lines.find((l) => l.startsWith('RestrictAddressFamilies='))).toContain('AF_NETLINK');
  });

  test('RestartPreventExitStatus is the exit status of an agent refusing its configuration', async () => {
    const status = Number(/^RestartPreventExitStatus=(\d+)$/m.exec(await readFile(UNIT, 'utf8'))?.[1]);
    const shipped = await run([bin, 'agent', '--config', join(COMMON, 'rootfs/etc/outpost/agent.yaml')]);
    expect(shipped.exitCode).toBe(status);
    expect(shipped.stderr).toContain('a source of policy is required');
    await writeFile(join(base, 'etc', 'typo.yaml'), 'resorces: [/etc/outpost/resources]\n');
    expect((await run([bin, 'agent', '--config', join(base, 'etc', 'typo.yaml')])).exitCode).toBe(status);
  });

  test('ExecStartPost holds the unit (and network-pre.target) until the agent has put its table in the kernel', async () => {
    const line = /^ExecStartPost=\/bin\/sh -c '(.+)'$/m.exec(await readFile(UNIT, 'utf8'))?.[1];
    expect(line).toBeDefined();
    const script = line!.replaceAll('$$', '$'); // systemd's escape for a literal $
    expect(await app.hasTable()).toBe(false);
    const waiter = app.lab.spawn('app', ['/bin/busybox', 'sh', '-c', script]);
    await Bun.sleep(300);
    expect(waiter.running).toBe(true); // still waiting: no table yet
    await writeFile(join(base, 'etc', 'once.yaml'), localModeConfig(join(base, 'resources'), `state: ${join(base, 'state')}\n`));
    const once = await app.lab.exec('app', [bin, 'agent', '--config', join(base, 'etc', 'once.yaml'), '--once'], { reject: false });
    expect(once.exitCode, once.stderr).toBe(0);
    expect(await waiter.exited).toBe(0);
    expect(waiter.stderr).toBe(''); // it saw the table, rather than giving up after 10 s
    await app.lab.exec('app', ['nft', 'delete', 'table', 'inet', 'outpost']);
  });

  test('local mode: the agent enforces inside the sandbox, with CAP_NET_ADMIN only', async () => {
    await writeFile(join(base, 'etc', 'local.yaml'), localModeConfig(join(base, 'resources'), `state: ${join(base, 'state')}\n`));
    const agent = sandboxed(['agent', '--config', join(base, 'etc', 'local.yaml')]);
    try {
      await inForce(agent);
      expect(agent.stdout).toContain(`sandbox: read-only except ${base}/state`);
      // CAP_NET_ADMIN is bit 12: 0x1000, and nothing else.
      expect(agent.stdout).toMatch(/CapEff:\s+0000000000001000/);
      expect(agent.stdout).toMatch(/CapBnd:\s+0000000000001000/);
      expect(agent.stdout).toMatch(/NoNewPrivs:\s+1/);
      expect(await app.reaches(ALLOWED_PORT)).toBe(true);
      expect(await app.reaches(DENIED_PORT)).toBe(false);
      expect(await readdir(join(base, 'state'))).toContain('outpost.db'); // written in the sandbox's one writable place
      await agent.stop(5000);
      expect(await agent.exited).toBe(0);
      expect(await app.hasTable()).toBe(true);
    } finally {
      await agent.stop();
      await app.lab.exec('app', ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
    }
  });

  test('relay mode: SQLite cache in the state directory, snapshots over MQTT, inside the sandbox', async () => {
    await writeFile(join(base, 'etc', 'relay.yaml'), `node: app\nbroker: mqtt://127.0.0.1:1883\ntrustKey: ${join(base, 'etc', 'relay.pub')}\nstate: ${join(base, 'state')}\n`);
    const relay = await startRelay();
    const agent = sandboxed(['agent', '--config', join(base, 'etc', 'relay.yaml')]);
    try {
      await inForce(agent);
      expect(await app.reaches(ALLOWED_PORT)).toBe(true);
      expect(await app.reaches(DENIED_PORT)).toBe(false);
      expect(await readdir(join(base, 'state'))).toContain('outpost.db');
      await agent.stop(5000);
      expect(await agent.exited).toBe(0);
    } finally {
      await agent.stop();
      await relay.stop();
      await app.lab.exec('app', ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
    }
  });

  test.skipIf(!hasStrace)('every system call the agent and nft make passes SystemCallFilter (needs strace; scripts/setup.sh does not install it)', async () => {
    const allowed = await filterAllows(UNIT);
    expect(allowed.size).toBeGreaterThan(200);
    const traces = join(base, 'trace');
    await mkdir(traces);
    // Local mode, once: resources, rendering, nft apply and read-back.
    const once = await app.lab.exec('app', ['strace', '-f', '-qq', '-o', join(traces, 'once'), '--', bin, 'agent', '--config', join(base, 'etc', 'local.yaml'), '--once'], { reject: false });
    expect(once.exitCode, once.stderr).toBe(0);
    // Relay mode, long-running: MQTT, SQLite, interface and file polling, then a SIGTERM stop.
    const relay = await startRelay();
    const agent = app.lab.spawn('app', ['strace', '-f', '-qq', '-o', join(traces, 'relay'), '--', bin, 'agent', '--config', join(base, 'etc', 'relay.yaml')]);
    try {
      await inForce(agent);
      await Bun.sleep(1500); // let the interface poll (every second) run at least once
      const agentPid = Number(/^(\d+)\s/.exec(await readFile(join(traces, 'relay'), 'utf8'))?.[1]);
      process.kill(agentPid, 'SIGTERM');
      expect(await agent.exited).toBe(0);
    } finally {
      await agent.stop();
      await relay.stop();
      await app.lab.exec('app', ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
    }
    const used = new Set([...(await tracedSyscalls(join(traces, 'once'))), ...(await tracedSyscalls(join(traces, 'relay')))]);
    expect(used.size).toBeGreaterThan(30);
    expect([...used].filter((s) => !allowed.has(s)).sort()).toEqual([]);
  });
});
