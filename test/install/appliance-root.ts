/**
 * A minimal appliance root file system in a temp dir, the kind outpost's tarball is for:
 * static BusyBox with its applets linked in (`busybox --install -s`), a BusyBox-style
 * /etc/init.d/rcS, and nft plus the shared libraries it and the glibc outpost binary need
 * (found with ldd). Nothing else from the machine: no coreutils, no Debian start-stop-daemon.
 *
 * `inRoot` runs a command the way a service runs on that appliance: chrooted, in a private
 * mount namespace with /proc and /dev bind-mounted (the Bun binary needs /proc/self/exe), and
 * inside a lab network namespace.
 */
import { copyFile, mkdir, mkdtemp, realpath, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ok, run, type RunResult } from './support.ts';

const BUSYBOX = '/bin/busybox';

const RCS = `#!/bin/sh
# BusyBox-style rcS (as Buildroot ships it): start every /etc/init.d/S??* in order.
for i in /etc/init.d/S??*; do
	[ -x "$i" ] && "$i" start
done
`;

/**
 * Absolute paths of the shared libraries (and the loader) that `binary` needs; `libraryPath`
 * (LD_LIBRARY_PATH) for a binary whose own libraries are not installed on this machine.
 */
export async function sharedLibraries(binary: string, libraryPath?: string): Promise<string[]> {
  const r = await ok(['ldd', binary], libraryPath === undefined ? {} : { env: { ...process.env, LD_LIBRARY_PATH: libraryPath } as Record<string, string> });
  const libs = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    if (line.includes('not found')) throw new Error(`ldd ${binary}: a library is missing:\n${r.stdout}`);
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.add(m[1]);
  }
  if (libs.size === 0) throw new Error(`ldd ${binary} found no libraries:\n${r.stdout}${r.stderr}`);
  return [...libs];
}

/** Copies a file to the same path under `root` (following symlinks: the content, not a link). */
export async function copyIn(root: string, path: string, mode?: number): Promise<void> {
  const to = join(root, path);
  await mkdir(dirname(to), { recursive: true });
  await copyFile(await realpath(path), to);
  if (mode !== undefined) await chmod(to, mode);
}

export interface ApplianceRoot {
  readonly dir: string;
  /** PATH made of the root's BusyBox applets (their links point at /bin/busybox, on both sides of the chroot). */
  readonly busyboxPath: string;
  /** Runs argv inside the root (chroot) and the namespace `ns`, with a cleared environment. */
  inRoot(ns: string, argv: readonly string[]): Promise<RunResult>;
  /** Runs a script from outside the root (the tarball's, or an installed one by its full path) by BusyBox sh, with BusyBox's applets only, in `ns`. */
  busyboxSh(ns: string, script: string, args: readonly string[]): Promise<RunResult>;
}

/** Builds the root; `binaryForLibs` is an outpost binary whose libraries the root must hold. */
export async function makeApplianceRoot(binaryForLibs: string): Promise<ApplianceRoot> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-appliance-'));
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/lib', 'lib', 'etc/init.d', 'run', 'var/lib', 'var/log', 'tmp', 'proc', 'dev', 'root']) {
    await mkdir(join(dir, d), { recursive: true });
  }
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyIn(dir, BUSYBOX, 0o755);
  await ok(['chroot', dir, BUSYBOX, '--install', '-s']);
  await writeFile(join(dir, 'etc/init.d/rcS'), RCS, { mode: 0o755 });
  await writeFile(join(dir, 'etc/hostname'), 'app\n');
  await copyIn(dir, '/usr/sbin/nft', 0o755);
  const libs = new Set([...(await sharedLibraries('/usr/sbin/nft')), ...(await sharedLibraries(binaryForLibs))]);
  for (const lib of libs) await copyIn(dir, lib);
  const busyboxPath = ['bin', 'sbin', 'usr/bin', 'usr/sbin'].map((d) => join(dir, d)).join(':');
  return {
    dir,
    busyboxPath,
    inRoot: (ns, argv) =>
      run([
        'ip', 'netns', 'exec', ns,
        'unshare', '--mount', '--propagation', 'private', '--',
        '/bin/sh', '-c', 'mount --bind /proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"',
        dir, ...argv,
      ]),
    busyboxSh: (ns, script, args) => run(['ip', 'netns', 'exec', ns, 'env', '-i', `PATH=${busyboxPath}`, '/bin/busybox', 'sh', script, ...args]),
  };
}
