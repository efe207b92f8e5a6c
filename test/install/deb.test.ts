/**
 * The .deb packages. This machine's one is installed for real (`dpkg -i`), its agent enforces in a
 * lab namespace with the packaged config path, an upgrade keeps config and ruleset, `dpkg --remove`
 * deletes the table but keeps config and state, and `dpkg --purge` must leave no file, no state,
 * no config and no table. dpkg runs in that namespace, so that postrm's table removal acts there.
 * Both packages' metadata is checked with dpkg-deb (the arm64 one cannot be installed here).
 *
 * The test changes the machine, so it takes a machine-wide lock, refuses to run if outpost is
 * already known to dpkg, and purges what it installed however it ends.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { binaryPath, TARGETS } from '../../scripts/build/targets.ts';
import { checksumPath, debPath, DIST, HOST, VERSION } from '../../scripts/package/layout.ts';
import {
  ALLOWED_PORT, applianceLab, DENIED_PORT, isRoot, localModeConfig, machineLock, NATIVE_DEB, ok, requireArtifact, RESOURCES, run,
  type ApplianceLab,
} from './support.ts';

const nativeDeb = debPath(NATIVE_DEB);
const output = (r: { exitCode: number | null; stdout: string; stderr: string }) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`;
const mode = async (path: string) => (await stat(path)).mode & 0o777;

async function md5(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('md5');
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest('hex');
}

describe.skipIf(!isRoot)('.deb metadata (dpkg-deb)', () => {
  for (const arch of ['amd64', 'arm64'] as const) {
    const target = TARGETS.find((t) => t.deb === arch)!;
    test(`${arch}: checksum, control fields, conffile, maintainer scripts, and the ${target.name} binary inside`, async () => {
      const deb = requireArtifact(debPath(arch));
      requireArtifact(checksumPath(deb));
      await ok(['sha256sum', '-c', basename(checksumPath(deb))], { cwd: dirname(deb) });
      const fields = await ok(['dpkg-deb', '--field', deb, 'Package', 'Version', 'Architecture', 'Depends']);
      expect(fields.stdout).toBe(`Package: outpost\nVersion: ${VERSION}\nArchitecture: ${arch}\nDepends: libc6 (>= 2.17), nftables\n`);
      expect((await ok(['dpkg-deb', '--info', deb, 'conffiles'])).stdout).toBe(`${HOST.config}\n${HOST.relayConfig}\n`);
      for (const script of ['postinst', 'prerm', 'postrm']) {
        expect((await ok(['dpkg-deb', '--info', deb, script])).stdout).toStartWith('#!/bin/sh\n');
      }
      const contents = (await ok(['dpkg-deb', '--contents', deb])).stdout;
      expect(contents).toMatch(/^-rwxr-xr-x root\/root .* \.\/usr\/bin\/outpost$/m);
      expect(contents).toMatch(/^-rw-r--r-- root\/root .* \.\/lib\/systemd\/system\/outpost-agent\.service$/m);
      expect(contents).toMatch(/^-rw------- root\/root .* \.\/etc\/outpost\/agent\.yaml$/m);
      expect(contents).toMatch(/^-rw-r--r-- root\/root .* \.\/lib\/systemd\/system\/outpost-relay\.service$/m);
      expect(contents).toMatch(/^-rw------- root\/root .* \.\/etc\/outpost\/relay\.yaml$/m);
      expect(contents).toMatch(/^-rwxr-xr-x root\/root .* \.\/usr\/lib\/outpost\/pki\.sh$/m);
      expect(contents).toMatch(/^-rw-r--r-- root\/root .* \.\/usr\/share\/doc\/outpost\/examples\/first-host\/policies\.yaml$/m);
      expect(contents).toMatch(/^drwxr-xr-x root\/root .* \.\/usr\/share\/doc\/outpost\/examples\/first-host\/$/m);
      // The packaged binary is the build for this architecture, byte for byte (md5sums).
      const sums = (await ok(['dpkg-deb', '--info', deb, 'md5sums'])).stdout;
      expect(sums).toContain(`${await md5(binaryPath(DIST, target))}  usr/bin/outpost\n`);
    });
  }
});

describe.skipIf(!isRoot)(`.deb installed on this machine (${NATIVE_DEB})`, () => {
  let lock: { release(): void } | undefined;
  let app: ApplianceLab;
  let installedByUs = false;

  beforeAll(async () => {
    requireArtifact(nativeDeb);
    lock = await machineLock('outpost-install-test-dpkg');
    const known = await run(['dpkg-query', '-W', '-f=${Status}', 'outpost']);
    if (known.exitCode === 0 && !known.stdout.includes('not-installed')) {
      throw new Error(`outpost is already known to dpkg on this machine (${known.stdout}); this test installs and purges it, so it will not run. Remove it first: dpkg --purge outpost`);
    }
    app = await applianceLab();
  });
  afterAll(async () => {
    try {
      if (installedByUs) await run(['dpkg', '--purge', 'outpost']);
    } finally {
      await app?.lab.destroy();
      lock?.release();
    }
  });

  test('dpkg -i installs binary, units, conffiles, examples and state directory; nothing enabled or started', async () => {
    installedByUs = true;
    const r = await run(['dpkg', '-i', nativeDeb]);
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain('systemctl enable --now outpost-agent');
    expect(await mode(HOST.binary)).toBe(0o755);
    expect(await mode(HOST.systemdUnitDeb)).toBe(0o644);
    expect(await mode(HOST.config)).toBe(0o600);
    expect(await mode(HOST.state)).toBe(0o700);
    expect(existsSync('/etc/systemd/system/sysinit.target.wants/outpost-agent.service')).toBe(false);
    expect(await mode(HOST.relayUnitDeb)).toBe(0o644);
    expect(await mode(HOST.relayConfig)).toBe(0o600);
    expect(existsSync('/etc/systemd/system/multi-user.target.wants/outpost-relay.service')).toBe(false);
    expect(await readdir(HOST.examples)).toContain('first-host');
    expect((await ok(['dpkg', '--verify', 'outpost'])).stdout).toBe('');
    const version = JSON.parse((await ok([HOST.binary, 'version', '-o', 'json'])).stdout) as { version: string; target: string };
    expect(version).toMatchObject({ version: VERSION, target: TARGETS.find((t) => t.deb === NATIVE_DEB)!.name });
  });

  test("systemd-analyze verify accepts the installed units, against this machine's units", async () => {
    for (const unit of [HOST.systemdUnitDeb, HOST.relayUnitDeb]) {
      const r = await run(['systemd-analyze', 'verify', unit]);
      expect({ unit, exitCode: r.exitCode, output: r.stdout + r.stderr }).toEqual({ unit, exitCode: 0, output: '' });
    }
  });

  test('with the packaged config, the agent refuses to run until it is configured', async () => {
    const r = await run([HOST.binary, 'agent', '--config', HOST.config, '--once']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('a source of policy is required');
  });

  test('configured for local mode, the packaged agent enforces in a lab namespace (real packets)', async () => {
    await mkdir('/etc/outpost/resources');
    for (const [name, text] of Object.entries(RESOURCES)) await writeFile(`/etc/outpost/resources/${name}`, text);
    await writeFile(HOST.config, localModeConfig('/etc/outpost/resources'));
    expect(await app.reaches(DENIED_PORT)).toBe(true);
    const r = await app.lab.exec('app', [HOST.binary, 'agent', '--config', HOST.config, '--once'], { reject: false });
    expect(r.exitCode, output(r)).toBe(0);
    expect(await app.reaches(ALLOWED_PORT)).toBe(true);
    expect(await app.reaches(DENIED_PORT)).toBe(false);
    expect(await readdir(HOST.state)).toContain('outpost.db');
  });

  test('dpkg -i again (the upgrade path) keeps the edited agent.yaml and the ruleset in force', async () => {
    const r = await app.lab.exec('app', ['dpkg', '-i', nativeDeb], { reject: false });
    expect(r.exitCode, output(r)).toBe(0);
    expect(await Bun.file(HOST.config).text()).toBe(localModeConfig('/etc/outpost/resources'));
    expect(await app.hasTable()).toBe(true);
    expect(await app.reaches(DENIED_PORT)).toBe(false);
  });

  test('dpkg --remove in that namespace deletes the table and the binary, keeps config and state', async () => {
    const r = await app.lab.exec('app', ['dpkg', '--remove', 'outpost'], { reject: false });
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain('deleted the nftables table inet outpost');
    expect(await app.hasTable()).toBe(false);
    expect(await app.reaches(DENIED_PORT)).toBe(true);
    expect([HOST.binary, HOST.systemdUnitDeb, HOST.relayUnitDeb, HOST.examples].filter((p) => existsSync(p))).toEqual([]);
    expect([HOST.config, HOST.relayConfig, HOST.state].filter((p) => existsSync(p))).toEqual([HOST.config, HOST.relayConfig, HOST.state]);
    expect((await ok(['dpkg-query', '-W', '-f=${Status}', 'outpost'])).stdout).toBe('deinstall ok config-files');
  });

  test('installed again over the kept config, the agent enforces again', async () => {
    const r = await run(['dpkg', '-i', nativeDeb]);
    expect(r.exitCode, output(r)).toBe(0);
    const once = await app.lab.exec('app', [HOST.binary, 'agent', '--config', HOST.config, '--once'], { reject: false });
    expect(once.exitCode, output(once)).toBe(0);
    expect(await app.reaches(DENIED_PORT)).toBe(false);
  });

  test('dpkg --purge in that namespace removes every file, the state, the config and the table', async () => {
    const files = (await ok(['dpkg', '-L', 'outpost'])).stdout.split('\n').filter((p) => p.startsWith('/usr/bin/') || p.includes('outpost'));
    expect(files).toContain(HOST.binary);
    await mkdir(HOST.relayState, { mode: 0o700 }); // as systemd's StateDirectory= makes it when the relay runs here
    const r = await app.lab.exec('app', ['dpkg', '--purge', 'outpost'], { reject: false });
    expect(r.exitCode, output(r)).toBe(0);
    installedByUs = false;
    expect(r.stdout).toContain('deleted the nftables table inet outpost');
    expect(files.filter((p) => existsSync(p))).toEqual([]);
    expect([HOST.config, '/etc/outpost', HOST.state, HOST.relayState, '/usr/share/doc/outpost', '/usr/lib/outpost'].filter((p) => existsSync(p))).toEqual([]);
    expect(await app.hasTable()).toBe(false);
    expect(await app.reaches(DENIED_PORT)).toBe(true);
    const listed = await run(['dpkg', '-l', 'outpost']);
    expect(listed.exitCode).not.toBe(0);
    expect(listed.stderr).toContain('no packages found matching outpost');
  });
});
