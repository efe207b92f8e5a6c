/**
 * What can be checked without installing: every shell script parses under dash and BusyBox sh
 * (openrc.test.ts runs the OpenRC script under OpenRC), the default agent.yaml
 * documents every agent setting, the install scripts refuse bad use with a clear message, and
 * every target's tarball holds the same layout with its own binary.
 */
import { describe, expect, test } from 'bun:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_SETTINGS } from '../../src/config/agent-config.ts';
import { binaryPath, TARGETS } from '../../scripts/build/targets.ts';
import { COMMON, DEBIAN_SCRIPTS, DIST, ROOT, tarballPath, tarballStem } from '../../scripts/package/layout.ts';
import { requireBinary } from '../../scripts/package/stage.ts';
import { isRoot, ok, requireArtifact, run } from './support.ts';

const SCRIPTS = {
  'install.sh': join(COMMON, 'install.sh'),
  'uninstall.sh': join(COMMON, 'uninstall.sh'),
  'sysv init script': join(COMMON, 'services/sysv/outpost-agent'),
  'OpenRC script': join(COMMON, 'services/openrc/outpost-agent'),
  'deb postinst': join(DEBIAN_SCRIPTS, 'postinst'),
  'deb prerm': join(DEBIAN_SCRIPTS, 'prerm'),
  'deb postrm': join(DEBIAN_SCRIPTS, 'postrm'),
};

describe('shell scripts', () => {
  for (const [what, path] of Object.entries(SCRIPTS)) {
    test(`${what} parses under dash and BusyBox sh`, async () => {
      await ok(['sh', '-n', path]);
      await ok(['/bin/busybox', 'sh', '-n', path]);
    });
  }

  test('the sysv script has an LSB header and the OpenRC script runs under openrc-run with supervise-daemon', async () => {
    const sysv = await readFile(SCRIPTS['sysv init script'], 'utf8');
    expect(sysv).toMatch(/^### BEGIN INIT INFO\n# Provides: +outpost-agent\n[\s\S]*### END INIT INFO$/m);
    const openrc = await readFile(SCRIPTS['OpenRC script'], 'utf8');
    expect(openrc).toStartWith('#!/sbin/openrc-run\n');
    expect(openrc).toContain('supervisor=supervise-daemon');
    // Both start the agent with a cleared environment, after the agent's own check of the config.
    expect(sysv).toContain('exec env -i PATH=');
    expect(openrc).toContain('command=/usr/bin/env\ncommand_args="-i PATH=');
    expect(sysv).toContain('"$DAEMON" agent --check-config --config "$CONFIG"');
    expect(openrc).toContain('/usr/bin/outpost agent --check-config --config "${config}"');
  });
});

describe('default agent.yaml', () => {
  test('explains every agent setting, each as a commented-out key', async () => {
    const text = await readFile(join(COMMON, 'rootfs/etc/outpost/agent.yaml'), 'utf8');
    const documented = new Set([...text.matchAll(/^# ?([a-zA-Z]+):/gm)].map((m) => m[1]));
    expect([...documented].sort()).toEqual(AGENT_SETTINGS.map((s) => s.key).sort());
    expect(text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))).toEqual([]);
  });
});

describe.skipIf(!isRoot)('install.sh and uninstall.sh refuse bad use, saying why', () => {
  const cases: [string, string[], RegExp][] = [
    ['install.sh', ['--bogus'], /unknown option '--bogus'/],
    ['install.sh', ['--root', '/nonexistent-outpost-root'], /--root \/nonexistent-outpost-root is not a directory/],
    ['install.sh', ['--root', '/tmp', '--init', 'upstart'], /--init must be systemd, openrc, sysv or none/],
    ['install.sh', ['--root', '/tmp', '--start'], /cannot be combined with --root/],
    ['uninstall.sh', ['--bogus'], /unknown option '--bogus'/],
  ];
  for (const [script, args, message] of cases) {
    test(`${script} ${args.join(' ')}`, async () => {
      // Staged copies hold the binary that install.sh checks for; common/ alone has none.
      const staged = join(requireArtifact(join(import.meta.dir, '../../firmware-images', TARGETS[0]!.name)), script);
      const r = await run(['/bin/busybox', 'sh', staged, ...args]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(message);
    });
  }
});

describe('scripts/package.ts', () => {
  test('an unknown --target is refused, naming the targets', async () => {
    const r = await run([process.execPath, join(ROOT, 'scripts/package.ts'), '--target', 'linux-sparc'], { cwd: ROOT });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown target 'linux-sparc'; targets: linux-x64,");
  });

  test('a binary that was not built stops packaging with the command that builds it', async () => {
    const missing = { ...TARGETS[0]!, name: 'linux-x64-never-built' };
    await expect(requireBinary(missing)).rejects.toThrow(`outpost-linux-x64-never-built is missing: build it first with \`bun scripts/build.ts\``);
  });
});

describe('tarballs', () => {
  const LAYOUT = [
    '', 'README.md', 'VERSION', 'install.sh', 'uninstall.sh',
    'rootfs/', 'rootfs/etc/', 'rootfs/etc/outpost/', 'rootfs/etc/outpost/agent.yaml', 'rootfs/usr/', 'rootfs/usr/bin/', 'rootfs/usr/bin/outpost',
    'services/', 'services/openrc/', 'services/openrc/outpost-agent', 'services/systemd/', 'services/systemd/outpost-agent.service', 'services/sysv/', 'services/sysv/outpost-agent',
  ];
  for (const target of TARGETS) {
    test(`${target.name}: the shared layout, owned by root, and this target's binary`, async () => {
      const tarball = requireArtifact(tarballPath(target));
      const top = tarballStem(target);
      const listing = (await ok(['tar', 'tzvf', tarball])).stdout.trim().split('\n');
      expect(listing.map((l) => l.split(/\s+/).pop()!.slice(top.length + 1)).sort()).toEqual([...LAYOUT].sort());
      expect(listing.every((l) => l.split(/\s+/)[1] === '0/0')).toBe(true);
      const version = (await ok(['tar', '--occurrence=1', '-xzOf', tarball, `${top}/VERSION`])).stdout;
      expect(version).toContain(`target=${target.name}\narch=${target.arch}\nlibc=${target.libc}\n`);
      const size = Number(listing.find((l) => l.endsWith('/rootfs/usr/bin/outpost'))!.split(/\s+/)[2]);
      expect(size).toBe(Bun.file(binaryPath(DIST, target)).size);
    });
  }
});
