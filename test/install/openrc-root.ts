/**
 * Debian's OpenRC in an appliance root (appliance-root.ts), never installed on this machine:
 * scripts/setup.sh downloads its packages with `apt-get download` (this machine's init must not
 * change, and openrc conflicts with sysv-rc), and they are unpacked into the root with
 * `dpkg-deb -x`, with the shared libraries their programs need. Then OpenRC's run-time state as a
 * boot would have left it, so that `rc-service`, `openrc-run` and `supervise-daemon` work chrooted
 * there: OpenRC boots by `openrc sysinit`, which mounts a tmpfs on /run (gone with each chroot's
 * private mount namespace), so the root gets the same folders on disk, as OpenRC's own tests set
 * them up.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { copyIn, sharedLibraries, type ApplianceRoot } from './appliance-root.ts';
import { ok } from './support.ts';

/** Where scripts/setup.sh puts the packages (keep the two in step). */
export const OPENRC_DEBS = '/var/cache/outpost-test/openrc';
/** openrc and what it needs that a BusyBox root lacks (insserv: /etc/insserv.conf, read by its LSB header parser). */
const PACKAGES = ['openrc', 'libeinfo1', 'librc1', 'insserv'] as const;
const SETUP_STEP = `scripts/setup.sh downloads them (as root: apt-get download ${PACKAGES.join(' ')}, into ${OPENRC_DEBS}); run it first`;

/** The package files, one per package; fails (never skips) naming the setup step when any is missing. */
export async function requireOpenrcDebs(): Promise<string[]> {
  const files = existsSync(OPENRC_DEBS) ? (await readdir(OPENRC_DEBS)).filter((f) => f.endsWith('.deb')) : [];
  const found: string[] = [];
  const problems: string[] = [];
  for (const pkg of PACKAGES) {
    const matches = files.filter((f) => f.startsWith(`${pkg}_`));
    if (matches.length === 1) found.push(join(OPENRC_DEBS, matches[0]!));
    else problems.push(matches.length === 0 ? `no ${pkg}_*.deb` : `${matches.length} versions of ${pkg} (${matches.join(', ')})`);
  }
  if (problems.length > 0) throw new Error(`OpenRC's packages are not in ${OPENRC_DEBS} (${problems.join('; ')}): ${SETUP_STEP}`);
  return found;
}

/** OpenRC's state folders under /run/openrc (librc's RC_SVCDIR). */
const SVCDIR_FOLDERS = ['daemons', 'exclusive', 'failed', 'hotplugged', 'inactive', 'init.d', 'options', 'scheduled', 'started', 'starting', 'stopping', 'tmp', 'wasinactive'];

async function isElf(path: string): Promise<boolean> {
  const f = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    await f.read(head, 0, 4, 0);
    return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    await f.close();
  }
}

/** Unpacks the packages into `root`, copies in the libraries their programs need, and sets up OpenRC's boot state (default runlevel, dependency cache). */
export async function addOpenrc(root: ApplianceRoot, debs: readonly string[]): Promise<void> {
  const programs: string[] = [];
  const libDirs = new Set<string>();
  for (const deb of debs) {
    await ok(['dpkg-deb', '-x', deb, root.dir]);
    // Regular files ("-rwxr-xr-x root/root 60984 2024-05-02 12:00 ./sbin/openrc-run").
    for (const line of (await ok(['dpkg-deb', '-c', deb])).stdout.split('\n')) {
      const [, mode, path] = /^-(\S+)\s.*\s\.(\/\S+)$/.exec(line) ?? [];
      if (!mode || !path) continue;
      if (/\/lib[^/]*\.so[.\d]*$/.test(path)) libDirs.add(join(root.dir, dirname(path)));
      else if (mode.includes('x') && (await isElf(join(root.dir, path)))) programs.push(join(root.dir, path));
    }
  }
  if (!programs.some((p) => p.endsWith('/sbin/openrc-run'))) throw new Error(`no sbin/openrc-run in ${debs.join(', ')}`);
  // librc and libeinfo are in the root only; everything else comes from this machine.
  const rootLibs = [...libDirs].join(':');
  const libs = new Set<string>();
  for (const program of programs) for (const lib of await sharedLibraries(program, rootLibs)) libs.add(lib);
  for (const lib of libs) if (!lib.startsWith(`${root.dir}/`) && !existsSync(join(root.dir, lib))) await copyIn(root.dir, lib);

  for (const d of SVCDIR_FOLDERS) await mkdir(join(root.dir, 'run/openrc', d), { recursive: true });
  await writeFile(join(root.dir, 'run/openrc/softlevel'), 'default\n');
  // The dependency cache (/run/openrc/deptree) that booting writes; OpenRC renews it when /etc/init.d changes.
  const rcDepend = programs.find((p) => p.endsWith('/rc/bin/rc-depend'));
  if (!rcDepend) throw new Error(`no rc/bin/rc-depend in ${debs.join(', ')}`);
  await ok(['chroot', root.dir, rcDepend.slice(root.dir.length), '--update']);
  if (!existsSync(join(root.dir, 'run/openrc/deptree'))) throw new Error(`rc-depend --update wrote no ${root.dir}/run/openrc/deptree`);
}
