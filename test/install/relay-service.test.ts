/**
 * The relay's systemd unit, without systemd as PID 1 (as service-sandbox.test.ts does for the
 * agent's):
 * - `systemd-analyze verify --root` checks it and `systemd-analyze security --offline` rates it;
 * - its sandbox is emulated and the real relay must serve inside it: setpriv gives what the unit
 *   leaves (no capability at all, no_new_privs), a private mount namespace makes every mount
 *   read-only except the state directory, with tmpfs on /tmp and /var/tmp; the relay reads its
 *   root-owned 0600 signing key and writes its state there, and an agent enforces what it
 *   publishes (real packets);
 * - strace lists every system call the relay makes, which must all pass SystemCallFilter.
 * Not emulated: seccomp itself, ProtectKernel*, RestrictAddressFamilies, boot ordering.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath } from '../../scripts/build/targets.ts';
import { COMMON, DIST } from '../../scripts/package/layout.ts';
import type { LabProcess } from '../lab/lab.ts';
import { filterAllows, tracedSyscalls } from './syscall-filter.ts';
import { spawnSandboxed } from './unit-sandbox.ts';
import {
  ALLOWED_PORT, applianceLab, DENIED_PORT, isRoot, NATIVE, ok, requireArtifact, RESOURCES, run, waitUntil, type ApplianceLab,
} from './support.ts';

const UNIT = join(COMMON, 'services/systemd/outpost-relay.service');

let app: ApplianceLab;
let base: string;
let bin: string;

const relayArgs = () => ['relay', '--config', join(base, 'etc', 'relay.yaml')];

async function published(p: LabProcess): Promise<void> {
  await waitUntil(
    'the relay never published',
    async () => (p.stderr.includes('snapshots published') ? true : p.running ? undefined : Promise.reject(new Error(`the relay exited:\n${p.stdout}\n${p.stderr}`))),
    async () => `${p.stdout}\n${p.stderr}`,
  );
}

describe.skipIf(!isRoot)('systemd unit outpost-relay.service', () => {
  beforeAll(async () => {
    bin = requireArtifact(binaryPath(DIST, NATIVE));
    app = await applianceLab();
    // Outside /tmp, which the sandbox replaces; only state/ is writable in there.
    base = await mkdtemp('/var/lib/outpost-relay-sandbox-test-');
    for (const d of ['resources', 'etc', 'agent-state']) await mkdir(join(base, d));
    await mkdir(join(base, 'state'), { mode: 0o700 });
    await copyFile(bin, join(base, 'outpost'));
    await chmod(join(base, 'outpost'), 0o755);
    for (const [name, text] of Object.entries(RESOURCES)) await writeFile(join(base, 'resources', name), text);
    await ok([bin, 'keygen', '--out', join(base, 'etc', 'relay')]); // relay.key: root's, 0600
    await writeFile(
      join(base, 'etc', 'relay.yaml'),
      `resources: [${join(base, 'resources')}]\nstate: ${join(base, 'state')}\nlisten: 127.0.0.1:1883\ninsecure: true\nsigningKey: relay.key\n`,
      { mode: 0o600 },
    );
  });
  afterAll(async () => {
    await app?.lab.destroy();
    if (base) await rm(base, { recursive: true, force: true });
  });

  test('systemd-analyze verify accepts it (with --root: no systemd as PID 1 needed)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'outpost-relay-verify-'));
    try {
      for (const d of ['etc/systemd/system', 'usr/bin', 'usr/lib/systemd']) await mkdir(join(root, d), { recursive: true });
      // Its default dependencies (sysinit.target, ...) and network-online.target: this machine's units.
      await ok(['cp', '-a', '/lib/systemd/system', join(root, 'usr/lib/systemd/system')]);
      await copyFile(UNIT, join(root, 'etc/systemd/system/outpost-relay.service'));
      await copyFile(bin, join(root, 'usr/bin/outpost'));
      const r = await run(['systemd-analyze', 'verify', `--root=${root}`, 'outpost-relay.service']);
      expect({ exitCode: r.exitCode, output: r.stdout + r.stderr }).toEqual({ exitCode: 0, output: '' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('systemd-analyze security rates its exposure OK; no capability at all, and no CAP_NET_ADMIN', async () => {
    const r = await ok(['systemd-analyze', 'security', '--offline=true', UNIT]);
    const exposure = Number(/Overall exposure level for outpost-relay\.service: ([\d.]+)/.exec(r.stdout)?.[1]);
    expect(exposure).toBeLessThanOrEqual(2.5);
    const lines = (await readFile(UNIT, 'utf8')).split('\n').filter((l) => !l.startsWith('#'));
    for (const setting of ['CapabilityBoundingSet=', 'AmbientCapabilities=', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'StateDirectory=outpost-relay', 'PrivateTmp=yes', 'ProtectHome=yes', 'RestartPreventExitStatus=2']) {
      expect(lines).toContain(setting);
    }
    expect(lines.join('\n')).not.toContain('CAP_NET_ADMIN');
    expect(lines).toContain('ExecStart=/usr/bin/outpost relay --config /etc/outpost/relay.yaml');
  });

  test('RestartPreventExitStatus is the exit status of a relay refusing its configuration', async () => {
    const status = Number(/^RestartPreventExitStatus=(\d+)$/m.exec(await readFile(UNIT, 'utf8'))?.[1]);
    await writeFile(join(base, 'etc', 'typo.yaml'), 'resorces: [/srv/policy]\nsigningKey: relay.key\n');
    const typo = await run([bin, 'relay', '--config', join(base, 'etc', 'typo.yaml')]);
    expect(typo.exitCode).toBe(status);
    expect(typo.stderr).toContain('resorces');
    // The shipped sample names key files that do not exist yet: refused the same way, not retried.
    const sample = await run([bin, 'relay', '--config', join(COMMON, 'rootfs/etc/outpost/relay.yaml')]);
    expect(sample.exitCode).toBe(status);
  });

  test('inside the sandbox, with no capability, the relay reads its 0600 key, keeps its state, and an agent enforces what it publishes', async () => {
    const relay = spawnSandboxed(app.lab, 'app', base, '', relayArgs());
    let agent: LabProcess | undefined;
    try {
      await published(relay);
      expect(relay.stdout).toContain(`sandbox: read-only except ${base}/state`);
      expect(relay.stdout).toMatch(/CapEff:\s+0000000000000000/);
      expect(relay.stdout).toMatch(/CapBnd:\s+0000000000000000/);
      expect(relay.stdout).toMatch(/NoNewPrivs:\s+1/);
      agent = app.lab.spawn('app', [bin, 'agent', '--node', 'app', '--broker', 'mqtt://127.0.0.1:1883', '--trust-key', join(base, 'etc', 'relay.pub'), '--state', join(base, 'agent-state')]);
      await waitUntil('the agent never logged "ruleset in force"', async () => (agent!.stderr.includes('ruleset in force') ? true : undefined), async () => `${agent!.stderr}\n--- relay ---\n${relay.stderr}`);
      expect(await app.reaches(ALLOWED_PORT)).toBe(true);
      expect(await app.reaches(DENIED_PORT)).toBe(false);
      expect((await readdir(join(base, 'state'))).length).toBeGreaterThan(0); // the folder's last valid resources / revision
      await relay.stop(5000);
      expect(await relay.exited).toBe(0);
    } finally {
      await agent?.stop();
      await relay.stop();
      await app.lab.exec('app', ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
    }
  });

  test.skipIf(Bun.which('strace') === null)('every system call the relay makes passes SystemCallFilter (needs strace)', async () => {
    const allowed = await filterAllows(UNIT);
    expect(allowed.size).toBeGreaterThan(200);
    const trace = join(base, 'relay.trace');
    const relay = app.lab.spawn('app', ['strace', '-f', '-qq', '-o', trace, '--', bin, ...relayArgs()]);
    const publications = () => relay.stderr.split('\n').filter((l) => l.includes('"snapshots published"')).length;
    let relayPid = 0;
    try {
      await published(relay);
      // The traced relay, not strace: stopping strace would only detach it.
      relayPid = Number(/^(\d+)\s/.exec(await readFile(trace, 'utf8'))?.[1]);
      // A change while it runs: the folder poll, a recompute, the state written, a publication.
      const before = publications();
      await writeFile(join(base, 'resources', 'policy.yaml'), RESOURCES['policy.yaml'].replace(`ports: [${ALLOWED_PORT}]`, `ports: [${ALLOWED_PORT}, ${DENIED_PORT}]`));
      await waitUntil('the relay never published the change', async () => (publications() > before ? true : undefined), async () => relay.stderr);
      process.kill(relayPid, 'SIGTERM');
      expect(await relay.exited).toBe(0);
    } finally {
      if (relayPid > 0) try { process.kill(relayPid, 'SIGKILL'); } catch { /* already gone */ }
      await relay.stop();
      await writeFile(join(base, 'resources', 'policy.yaml'), RESOURCES['policy.yaml']);
    }
    const used = await tracedSyscalls(trace);
    expect(used.size).toBeGreaterThan(30);
    expect([...used].filter((s) => !allowed.has(s)).sort()).toEqual([]);
  });
});
