/**
 * install.sh --root for each init system, and its detection, on empty image roots (BusyBox sh,
 * BusyBox applets only): the right service file and boot link, and uninstall.sh --root returns
 * the root to exactly what it was. The agent itself runs in tarball-install.test.ts (sysv),
 * openrc.test.ts (OpenRC) and service-sandbox.test.ts (the systemd unit). `--keep-table`: these run in the machine's own
 * network namespace, whose nftables they must not touch.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST, stageDir } from '../../scripts/package/layout.ts';
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

  const sh = (script: string, args: string[]) =>
    run(['env', '-i', `PATH=${join(scratch, 'applets')}`, '/bin/busybox', 'sh', join(staged, script), ...args]);

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

  test('systemd: the unit in /etc/systemd/system, --enable links it into sysinit.target.wants', async () => {
    const root = await imageRoot('systemd');
    const before = await fileTree(root);
    const r = await sh('install.sh', ['--root', root, '--init', 'systemd', '--enable']);
    expect(r.exitCode, output(r)).toBe(0);
    expect(await readlink(join(root, 'etc/systemd/system/sysinit.target.wants/outpost-agent.service'))).toBe(HOST.systemdUnitLocal);
    expect(await Bun.file(join(root, HOST.systemdUnitLocal)).text()).toContain('ExecStart=/usr/bin/outpost agent --config /etc/outpost/agent.yaml');
    const u = await sh('uninstall.sh', ['--root', root, '--keep-table']);
    expect(u.exitCode, output(u)).toBe(0);
    expect(await fileTree(root).then((t) => t.filter((p) => !p.startsWith('etc/systemd/')))).toEqual(before);
    expect(await fileTree(join(root, 'etc/systemd'))).toEqual(['system/', 'system/sysinit.target.wants/']);
  });

  test('openrc: the script in /etc/init.d, --enable adds it to the boot runlevel', async () => {
    const root = await imageRoot('openrc');
    const r = await sh('install.sh', ['--root', root, '--init', 'openrc', '--enable']);
    expect(r.exitCode, output(r)).toBe(0);
    expect(await readlink(join(root, 'etc/runlevels/boot/outpost-agent'))).toBe(HOST.initScript);
    expect(await Bun.file(join(root, HOST.initScript)).text()).toStartWith('#!/sbin/openrc-run\n');
    const u = await sh('uninstall.sh', ['--root', root, '--keep-table']);
    expect(u.exitCode, output(u)).toBe(0);
    expect(u.stdout).toContain('kept the nftables table inet outpost (--keep-table)');
    expect(await fileTree(join(root, 'etc'))).toEqual(['init.d/', 'runlevels/', 'runlevels/boot/']);
  });

  test('none: binary, config, state and uninstaller only; --keep-config keeps /etc/outpost', async () => {
    const root = await imageRoot('none');
    const r = await sh('install.sh', ['--root', root, '--init', 'none']);
    expect(r.exitCode, output(r)).toBe(0);
    expect((await fileTree(root)).filter((p) => p.includes('outpost'))).toEqual([
      'etc/outpost/', 'etc/outpost/agent.yaml', 'usr/bin/outpost', 'usr/lib/outpost/', 'usr/lib/outpost/uninstall.sh', 'var/lib/outpost/',
    ]);
    const u = await sh('uninstall.sh', ['--root', root, '--keep-config', '--keep-table']);
    expect(u.exitCode, output(u)).toBe(0);
    expect((await fileTree(root)).filter((p) => p.includes('outpost'))).toEqual(['etc/outpost/', 'etc/outpost/agent.yaml']);
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
