/**
 * install.sh --root for each init system, and its detection, on empty image roots (BusyBox sh,
 * BusyBox applets only): the right service files (agent and relay) and boot links, the sample
 * relay.yaml, the examples and pki.sh, and uninstall.sh --root returns the root to exactly what
 * it was. uninstall.sh --root never touches the table of the machine it runs on, nor a process
 * of that machine a stale pidfile in the image names (checked in a lab namespace holding a
 * marker table). The agent itself runs in tarball-install.test.ts (sysv), openrc.test.ts
 * (OpenRC) and service-sandbox.test.ts (the systemd unit).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST, stageDir } from '../../scripts/package/layout.ts';
import { Lab } from '../lab/lab.ts';
import { fileTree, isRoot, NATIVE, requireArtifact, run, type RunResult } from './support.ts';

let staged: string;
let scratch: string;
const output = (r: RunResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`;

/** An image root with the usual top-level folders, plus `marker` files that tell its init system. */
async function imageRoot(name: string, markers: string[] = []): Promise<string> {
  const root = join(scratch, name);
  for (const d of ['etc/init.d', 'usr/bin', 'usr/lib', 'var/lib', 'var/log', 'run']) await mkdir(join(root, d), { recursive: true });
  for (const m of markers) {
    await mkdir(join(root, m, '..'), { recursive: true });
    await writeFile(join(root, m), '#!/bin/sh\n');
    await chmod(join(root, m), 0o755);
  }
  return root;
}

describe.skipIf(!isRoot)('install.sh --root per init system', () => {
  beforeAll(async () => {
    staged = requireArtifact(join(stageDir(NATIVE), 'install.sh')).replace(/\/install\.sh$/, '');
    scratch = await mkdtemp(join(tmpdir(), 'outpost-layouts-'));
    // BusyBox applets only: a PATH of links to /bin/busybox.
    await mkdir(join(scratch, 'applets'));
    await run(['/bin/busybox', '--install', '-s', join(scratch, 'applets')]);
  });
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const sh = (script: string, args: string[], ns?: string) =>
    run([...(ns ? ['ip', 'netns', 'exec', ns] : []), 'env', '-i', `PATH=${join(scratch, 'applets')}`, '/bin/busybox', 'sh', join(staged, script), ...args]);
  /** What every install puts in the root besides the service files. */
  const INSTALLED = [
    'etc/outpost/', 'etc/outpost/agent.yaml', 'etc/outpost/relay.yaml', 'usr/bin/outpost',
    'usr/lib/outpost/', 'usr/lib/outpost/pki.sh', 'usr/lib/outpost/uninstall.sh',
    'usr/share/', 'usr/share/doc/', 'usr/share/doc/outpost/', 'var/lib/outpost/',
  ];

  for (const [init, markers] of [
    ['systemd', ['lib/systemd/systemd']],
    ['openrc', ['sbin/openrc-run']],
    ['sysv', []],
  ] as const) {
    test(`${init} is detected from the image root`, async () => {
      const root = await imageRoot(`detect-${init}`, [...markers]);
      const r = await sh('install.sh', ['--root', root]);
      expect(r.exitCode, output(r)).toBe(0);
      expect(r.stdout).toContain(`init system: ${init} (detected`);
    });
  }

  test('systemd: both units in /etc/systemd/system, --enable links the agent into sysinit.target.wants, the relay stays disabled', async () => {
    const root = await imageRoot('systemd');
    const before = await fileTree(root);
    const r = await sh('install.sh', ['--root', root, '--init', 'systemd', '--enable']);
    expect(r.exitCode, output(r)).toBe(0);
    expect(await readlink(join(root, 'etc/systemd/system/sysinit.target.wants/outpost-agent.service'))).toBe(HOST.systemdUnitLocal);
    expect(await Bun.file(join(root, HOST.systemdUnitLocal)).text()).toContain('ExecStart=/usr/bin/outpost agent --config /etc/outpost/agent.yaml');
    expect(await Bun.file(join(root, HOST.relayUnitLocal)).text()).toContain('ExecStart=/usr/bin/outpost relay --config /etc/outpost/relay.yaml');
    expect(await fileTree(join(root, 'etc/systemd'))).toEqual([
      'system/', 'system/outpost-agent.service', 'system/outpost-relay.service', 'system/sysinit.target.wants/', 'system/sysinit.target.wants/outpost-agent.service@',
    ]);
    const u = await sh('uninstall.sh', ['--root', root]);
    expect(u.exitCode, output(u)).toBe(0);
    expect(await fileTree(root).then((t) => t.filter((p) => !p.startsWith('etc/systemd/')))).toEqual(before);
    expect(await fileTree(join(root, 'etc/systemd'))).toEqual(['system/', 'system/sysinit.target.wants/']);
  });

  test('systemd: --enable-relay links the relay into multi-user.target.wants; uninstall removes it', async () => {
    const root = await imageRoot('systemd-relay');
    const r = await sh('install.sh', ['--root', root, '--init', 'systemd', '--enable-relay']);
    expect(r.exitCode, output(r)).toBe(0);
    expect(await readlink(join(root, 'etc/systemd/system/multi-user.target.wants/outpost-relay.service'))).toBe(HOST.relayUnitLocal);
    expect(await fileTree(join(root, 'etc/systemd/system')).then((t) => t.filter((p) => p.includes('agent')))).toEqual(['outpost-agent.service']);
    const u = await sh('uninstall.sh', ['--root', root]);
    expect(u.exitCode, output(u)).toBe(0);
    expect(await fileTree(join(root, 'etc/systemd'))).toEqual(['system/', 'system/multi-user.target.wants/']);
  });

  test('sysv on a BusyBox rcS: the agent at S35 (before the network), the relay at S50 (after it)', async () => {
    const root = await imageRoot('sysv-rcs', ['etc/init.d/rcS']);
    const before = await fileTree(root);
    const r = await sh('install.sh', ['--root', root, '--init', 'sysv', '--enable', '--enable-relay']);
    expect(r.exitCode, output(r)).toBe(0);
    expect(await readlink(join(root, 'etc/init.d/S35outpost-agent'))).toBe('outpost-agent');
    expect(await readlink(join(root, 'etc/init.d/S50outpost-relay'))).toBe('outpost-relay');
    expect(await Bun.file(join(root, HOST.relayInitScript)).text()).toContain('# Provides:          outpost-relay');
    const u = await sh('uninstall.sh', ['--root', root]);
    expect(u.exitCode, output(u)).toBe(0);
    expect(await fileTree(root)).toEqual(before);
  });

  test('openrc: both scripts in /etc/init.d, --enable adds the agent to the boot runlevel, --enable-relay the relay to default', async () => {
    const root = await imageRoot('openrc');
    const r = await sh('install.sh', ['--root', root, '--init', 'openrc', '--enable', '--enable-relay']);
    expect(r.exitCode, output(r)).toBe(0);
    expect(await readlink(join(root, 'etc/runlevels/boot/outpost-agent'))).toBe(HOST.initScript);
    expect(await readlink(join(root, 'etc/runlevels/default/outpost-relay'))).toBe(HOST.relayInitScript);
    expect(await Bun.file(join(root, HOST.initScript)).text()).toStartWith('#!/sbin/openrc-run\n');
    expect(await Bun.file(join(root, HOST.relayInitScript)).text()).toStartWith('#!/sbin/openrc-run\n');
    const u = await sh('uninstall.sh', ['--root', root]);
    expect(u.exitCode, output(u)).toBe(0);
    expect(await fileTree(join(root, 'etc'))).toEqual(['init.d/', 'runlevels/', 'runlevels/boot/', 'runlevels/default/']);
  });

  test('none: binary, configs, examples, pki.sh, state and uninstaller only; --keep-config keeps /etc/outpost', async () => {
    const root = await imageRoot('none');
    const r = await sh('install.sh', ['--root', root, '--init', 'none']);
    expect(r.exitCode, output(r)).toBe(0);
    const installed = await fileTree(root);
    expect(installed.filter((p) => (p.includes('outpost') || p.startsWith('usr/share')) && !p.startsWith('usr/share/doc/outpost/examples/'))).toEqual(INSTALLED);
    // Every example, with its folders; files readable by all, like the rest of /usr/share/doc.
    const examples = await fileTree(join(root, 'usr/share/doc/outpost/examples'));
    expect(examples).toEqual(await fileTree(join(staged, 'examples')));
    expect(examples).toContain('first-host/policies.yaml');
    expect((await Bun.file(join(root, 'etc/outpost/relay.yaml')).text())).toBe(await Bun.file(join(staged, 'rootfs/etc/outpost/relay.yaml')).text());
    const u = await sh('uninstall.sh', ['--root', root, '--keep-config']);
    expect(u.exitCode, output(u)).toBe(0);
    // usr/share/doc and usr/share were created for the examples, and go again once empty.
    expect((await fileTree(root)).filter((p) => p.includes('outpost') || p.startsWith('usr/share'))).toEqual(['etc/outpost/', 'etc/outpost/agent.yaml', 'etc/outpost/relay.yaml']);
  });

  test("install.sh again keeps an edited relay.yaml and replaces the examples whole", async () => {
    const root = await imageRoot('again');
    expect((await sh('install.sh', ['--root', root, '--init', 'none'])).exitCode).toBe(0);
    await writeFile(join(root, 'etc/outpost/relay.yaml'), 'resources: [/srv/policy]\n');
    await writeFile(join(root, 'usr/share/doc/outpost/examples/stale.yaml'), 'from an older version\n');
    const r = await sh('install.sh', ['--root', root, '--init', 'none']);
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain(`kept the existing ${root}/etc/outpost/relay.yaml`);
    expect(await Bun.file(join(root, 'etc/outpost/relay.yaml')).text()).toBe('resources: [/srv/policy]\n');
    expect(await fileTree(join(root, 'usr/share/doc/outpost/examples'))).toEqual(await fileTree(join(staged, 'examples')));
  });

  test("uninstall.sh --root leaves the running machine's table and processes alone", async () => {
    // The build machine: a namespace with its own outpost table, and its own agent, whose pid a
    // stale pidfile copied into the image names.
    const lab = await Lab.create();
    const machine = Bun.spawn(['bash', '-c', 'exec -a /usr/bin/outpost sleep 600'], { stdout: 'ignore', stderr: 'ignore' });
    try {
      await lab.addHost('build');
      await lab.exec('build', ['nft', 'add', 'table', 'inet', 'outpost']);
      await lab.exec('build', ['nft', 'add', 'chain', 'inet', 'outpost', 'marker']);
      const root = await imageRoot('beside-a-table');
      const before = await fileTree(root);
      expect((await sh('install.sh', ['--root', root, '--init', 'sysv', '--enable'], lab.ns('build'))).exitCode).toBe(0);
      await writeFile(join(root, 'run/outpost-agent.pid'), `${machine.pid}\n`);
      await writeFile(join(root, 'run/outpost-relay.pid'), `${machine.pid}\n`);

      const u = await sh('uninstall.sh', ['--root', root], lab.ns('build'));
      expect(u.exitCode, output(u)).toBe(0);
      expect(u.stdout).toContain("left this machine's nftables table inet outpost alone");
      expect(u.stdout).not.toContain('stopping');
      const table = await lab.exec('build', ['nft', 'list', 'table', 'inet', 'outpost'], { reject: false });
      expect(table.exitCode).toBe(0);
      expect(table.stdout).toContain('chain marker');
      expect(machine.killed || machine.exitCode !== null).toBe(false);
      expect(await fileTree(root)).toEqual(before);
    } finally {
      machine.kill();
      await lab.destroy();
    }
  });

  test('a root where dpkg owns outpost is refused by both scripts', async () => {
    const root = await imageRoot('dpkg', ['var/lib/dpkg/info/outpost.list']);
    for (const script of ['install.sh', 'uninstall.sh']) {
      const r = await sh(script, ['--root', root]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain('installed as a Debian package');
    }
    expect(await fileTree(join(root, 'usr/bin'))).toEqual([]);
  });
});
