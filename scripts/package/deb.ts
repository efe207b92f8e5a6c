/**
 * dist/outpost_<version>_<amd64|arm64>.deb, built with dpkg-deb from a tree laid out here:
 *
 *   /usr/bin/outpost                              the target's binary
 *   /lib/systemd/system/outpost-agent.service     the same unit as the tarball's
 *   /lib/systemd/system/outpost-relay.service     the relay's unit (never enabled by the package)
 *   /etc/outpost/agent.yaml                       the commented default, a conffile (0600)
 *   /etc/outpost/relay.yaml                       the sample relay configuration, a conffile (0600)
 *   /usr/lib/outpost/pki.sh                       certificates for the MQTT channel
 *   /usr/share/doc/outpost/README.md              firmware-images/README.md
 *   /usr/share/doc/outpost/examples/              example manifests (examples/)
 *   DEBIAN/{control,conffiles,md5sums,postinst,prerm,postrm}
 *
 * Compression: gzip (-z6). Measured on the 110 MiB binary (2 cores, docs in
 * firmware-images/README.md): gzip 6 s / 52 MiB, xz -0 12 s / 46 MiB, xz -6 98 s / 39 MiB,
 * zstd 1 s / 51 MiB. zstd needs dpkg >= 1.21.18 (Debian 12), which would shut out the older
 * hosts outpost is for; xz -6 costs 1.5 minutes per package in every test run for 25 % less.
 */
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Target } from '../build/targets.ts';
import { COMMON, DEBIAN_SCRIPTS, DIST, EXAMPLES, FIRMWARE, HOST, PKI_SCRIPT, VERSION } from './layout.ts';
import { setMtimes, requireBinary } from './stage.ts';

export const DEB_COMPRESSION = ['-Zgzip', '-z6'] as const;

/** Lowest glibc symbol version the binaries import (readelf), plus nft, which the agent runs. */
const DEPENDS = 'libc6 (>= 2.17), nftables';

function control(arch: string, installedKiB: number): string {
  return `Package: outpost
Version: ${VERSION}
Architecture: ${arch}
Maintainer: outpost maintainers <outpost@localhost>
Section: net
Priority: optional
Depends: ${DEPENDS}
Installed-Size: ${installedKiB}
Description: Calico host-endpoint policy for machines outside any cluster
 outpost enforces projectcalico.org/v3 host-endpoint policy (HostEndpoint,
 GlobalNetworkPolicy, Profile, GlobalNetworkSet, Tier, FelixConfiguration) with one
 atomic nftables ruleset per host, in the table inet outpost, from signed snapshots of
 a relay over MQTT or from manifests on the host.
 .
 The service outpost-agent is installed but neither enabled nor started: configure
 /etc/outpost/agent.yaml, then run systemctl enable --now outpost-agent. Stopping the
 agent leaves its ruleset in force; removing the package deletes the table. The relay's
 service, outpost-relay (configuration: /etc/outpost/relay.yaml), is installed disabled too.
 Example manifests: /usr/share/doc/outpost/examples.
`;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const rel of new Bun.Glob('**/*').scan({ cwd: dir, onlyFiles: true, dot: true })) out.push(rel);
  return out.sort();
}

async function md5(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('md5');
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest('hex');
}

async function run(argv: string[], env: Record<string, string>): Promise<void> {
  const p = Bun.spawn(argv, { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...env } });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}:\n${err}${out}`);
}

export async function writeDeb(target: Target & { deb: 'amd64' | 'arm64' }, out: string, epoch: number): Promise<void> {
  const binary = await requireBinary(target);
  const tree = await mkdtemp(join(DIST, `.deb-${target.deb}-`));
  try {
    const at = (p: string) => join(tree, p);
    for (const d of ['DEBIAN', 'usr/bin', 'usr/lib/outpost', 'lib/systemd/system', 'etc/outpost', 'usr/share/doc/outpost']) await mkdir(at(d), { recursive: true, mode: 0o755 });
    // A copy, not a link: its mtime is set below, and dist's binary must not change.
    await copyFile(binary, at(HOST.binary));
    await chmod(at(HOST.binary), 0o755);
    await copyFile(join(COMMON, 'services/systemd/outpost-agent.service'), at(HOST.systemdUnitDeb));
    await copyFile(join(COMMON, 'services/systemd/outpost-relay.service'), at(HOST.relayUnitDeb));
    await copyFile(join(COMMON, 'rootfs/etc/outpost/agent.yaml'), at(HOST.config));
    await copyFile(join(COMMON, 'rootfs/etc/outpost/relay.yaml'), at(HOST.relayConfig));
    await copyFile(PKI_SCRIPT, at(HOST.pki));
    await copyFile(join(FIRMWARE, 'README.md'), at('usr/share/doc/outpost/README.md'));
    await cp(EXAMPLES, at(HOST.examples), { recursive: true });
    for (const f of [HOST.systemdUnitDeb, HOST.relayUnitDeb, 'usr/share/doc/outpost/README.md']) await chmod(at(f), 0o644);
    for (const f of [HOST.config, HOST.relayConfig]) await chmod(at(f), 0o600);
    await chmod(at(HOST.pki), 0o755);
    await chmod(at(HOST.examples), 0o755);
    for (const e of await readdir(at(HOST.examples), { recursive: true, withFileTypes: true })) {
      await chmod(join(e.parentPath, e.name), e.isDirectory() ? 0o755 : 0o644);
    }

    const payload = (await filesUnder(tree)).filter((f) => !f.startsWith('DEBIAN/'));
    let bytes = 0;
    const sums: string[] = [];
    for (const f of payload) {
      bytes += (await stat(at(f))).size;
      sums.push(`${await md5(at(f))}  ${f}`);
    }
    await cp(DEBIAN_SCRIPTS, at('DEBIAN'), { recursive: true });
    for (const s of ['postinst', 'prerm', 'postrm']) await chmod(at(`DEBIAN/${s}`), 0o755);
    await writeFile(at('DEBIAN/control'), control(target.deb, Math.ceil(bytes / 1024)), { mode: 0o644 });
    await writeFile(at('DEBIAN/conffiles'), `${HOST.config}\n${HOST.relayConfig}\n`, { mode: 0o644 });
    await writeFile(at('DEBIAN/md5sums'), `${sums.join('\n')}\n`, { mode: 0o644 });
    await chmod(tree, 0o755);
    // Fixed mtimes (dpkg-deb only clamps newer ones to SOURCE_DATE_EPOCH): reproducible bytes.
    await setMtimes(tree, epoch);

    const tmp = `${out}.tmp`;
    await run(['dpkg-deb', '--root-owner-group', ...DEB_COMPRESSION, '--build', tree, tmp], { SOURCE_DATE_EPOCH: String(epoch) });
    await rename(tmp, out);
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
}
