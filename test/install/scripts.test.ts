/**
 * What can be checked without installing: every shell script parses under dash and BusyBox sh
 * (openrc.test.ts runs the OpenRC script under OpenRC), the default agent.yaml
 * documents every agent setting, the sample relay.yaml documents every relay setting and is a
 * valid relay configuration, the install scripts refuse bad use with a clear message, and
 * every target's tarball holds the same layout with its own binary.
 */
import { describe, expect, test } from 'bun:test';
import { readdirSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as v from 'valibot';
import YAML from 'yaml';
import { AGENT_SETTINGS } from '../../src/config/agent-config.ts';
import { RELAY_SETTINGS, RelayConfigSchema } from '../../src/config/relay-config.ts';
import { binaryPath, TARGETS } from '../../scripts/build/targets.ts';
import { COMMON, DEBIAN_SCRIPTS, DIST, EXAMPLES, ROOT, tarballPath, tarballStem } from '../../scripts/package/layout.ts';
import { requireBinary } from '../../scripts/package/stage.ts';
import { isRoot, ok, requireArtifact, run } from './support.ts';

const SCRIPTS = {
  'install.sh': join(COMMON, 'install.sh'),
  'uninstall.sh': join(COMMON, 'uninstall.sh'),
  'sysv init script': join(COMMON, 'services/sysv/outpost-agent'),
  'OpenRC script': join(COMMON, 'services/openrc/outpost-agent'),
  'relay sysv init script': join(COMMON, 'services/sysv/outpost-relay'),
  'relay OpenRC script': join(COMMON, 'services/openrc/outpost-relay'),
  'pki.sh': join(ROOT, 'scripts/pki.sh'),
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

  test("the relay's scripts mirror the agent's: LSB header, supervise-daemon, cleared environment, check-config first", async () => {
    const sysv = await readFile(SCRIPTS['relay sysv init script'], 'utf8');
    expect(sysv).toMatch(/^### BEGIN INIT INFO\n# Provides: +outpost-relay\n[\s\S]*### END INIT INFO$/m);
    const openrc = await readFile(SCRIPTS['relay OpenRC script'], 'utf8');
    expect(openrc).toStartWith('#!/sbin/openrc-run\n');
    expect(openrc).toContain('supervisor=supervise-daemon');
    expect(sysv).toContain('exec env -i PATH=');
    expect(openrc).toContain('command=/usr/bin/env\ncommand_args="-i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/outpost relay --config ${config}"');
    expect(sysv).toContain('"$DAEMON" relay --check-config --config "$CONFIG"');
    expect(openrc).toContain('/usr/bin/outpost relay --check-config --config "${config}"');
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

describe('sample relay.yaml', () => {
  const path = join(COMMON, 'rootfs/etc/outpost/relay.yaml');

  test('explains every relay setting, each as a key (active or commented out)', async () => {
    const text = await readFile(path, 'utf8');
    const documented = new Set([...text.matchAll(/^(?:# ?)?([a-zA-Z]+):/gm)].map((m) => m[1]));
    expect([...documented].sort()).toEqual(RELAY_SETTINGS.map((s) => s.key).sort());
  });

  test('outpost relay --check-config refuses it until the files it names exist, then accepts it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-relay-yaml-'));
    try {
      await copyFile(path, join(dir, 'relay.yaml'));
      const outpost = (...args: string[]) => run([process.execPath, join(ROOT, 'src/main.ts'), ...args], { cwd: dir });
      const missing = await outpost('relay', '--check-config', '--config', 'relay.yaml');
      expect(missing.exitCode).toBe(2);
      expect(missing.stderr).toContain(`signingKey: ${dir}/relay.key does not exist`);
      expect(missing.stderr).toContain(`brokerCert: ${dir}/tls/relay.crt does not exist`);
      // What the operator does, relative paths resolved against the file's folder.
      await ok([process.execPath, join(ROOT, 'src/main.ts'), 'keygen', '--out', join(dir, 'relay')]);
      await ok(['sh', join(ROOT, 'scripts/pki.sh'), '--dir', join(dir, 'tls'), 'ca']);
      await ok(['sh', join(ROOT, 'scripts/pki.sh'), '--dir', join(dir, 'tls'), 'relay', '--san', 'IP:127.0.0.1']);
      const r = await outpost('relay', '--check-config', '--config', 'relay.yaml');
      expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
      expect(r.stdout).toContain('config ok: etcd http://127.0.0.1:2379, broker mqtts://127.0.0.1:8883');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('its active lines are a complete, valid relay configuration', async () => {
    const parsed = v.safeParse(RelayConfigSchema, YAML.parse(await readFile(path, 'utf8')));
    expect(parsed.issues?.map((i) => i.message) ?? []).toEqual([]);
    expect(parsed.output).toMatchObject({ etcd: ['http://127.0.0.1:2379'], signingKey: 'relay.key', broker: 'mqtts://127.0.0.1:8883' });
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

/** examples/ as the tarball lists it: examples/, its folders with a trailing slash, its files. */
const EXAMPLE_FILES = [
  'examples/',
  ...readdirSync(EXAMPLES, { recursive: true, withFileTypes: true }).map((e) => `examples/${relative(EXAMPLES, join(e.parentPath, e.name))}${e.isDirectory() ? '/' : ''}`),
];

describe('tarballs', () => {
  const LAYOUT = [
    '', 'README.md', 'VERSION', 'install.sh', 'uninstall.sh', 'pki.sh',
    'rootfs/', 'rootfs/etc/', 'rootfs/etc/outpost/', 'rootfs/etc/outpost/agent.yaml', 'rootfs/etc/outpost/relay.yaml', 'rootfs/usr/', 'rootfs/usr/bin/', 'rootfs/usr/bin/outpost',
    'services/', 'services/openrc/', 'services/openrc/outpost-agent', 'services/openrc/outpost-relay',
    'services/systemd/', 'services/systemd/outpost-agent.service', 'services/systemd/outpost-relay.service',
    'services/sysv/', 'services/sysv/outpost-agent', 'services/sysv/outpost-relay',
    ...EXAMPLE_FILES,
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
