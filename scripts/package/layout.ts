/**
 * Where packaging reads and writes, and what every artifact is called. scripts/package.ts and
 * the install tests (test/install/) both use these names, so they cannot drift apart.
 */
import { join } from 'node:path';
import { ROOT } from '../build/compile.ts';
import type { Target } from '../build/targets.ts';
import pkg from '../../package.json' with { type: 'json' };

export { ROOT };
export const DIST = join(ROOT, 'dist');
export const FIRMWARE = join(ROOT, 'firmware-images');
/** Committed sources shared by every target: install scripts, service files, default config. */
export const COMMON = join(FIRMWARE, 'common');
/** Debian maintainer scripts (postinst, prerm, postrm). */
export const DEBIAN_SCRIPTS = join(import.meta.dir, 'debian');

export const VERSION: string = pkg.version;

/** firmware-images/<target>/: the staged image for one target (generated, gitignored). */
export const stageDir = (target: Target): string => join(FIRMWARE, target.name);

/** The top folder inside the tarball, also its file name without .tar.gz. */
export const tarballStem = (target: Target, version = VERSION): string => `outpost-${version}-${target.name}`;
export const tarballPath = (target: Target, version = VERSION): string => join(DIST, `${tarballStem(target, version)}.tar.gz`);
export const debPath = (arch: 'amd64' | 'arm64', version = VERSION): string => join(DIST, `outpost_${version}_${arch}.deb`);
export const checksumPath = (artifact: string): string => `${artifact}.sha256`;

/** Paths on the installed host, shared by the tarball's scripts, the .deb and the tests. */
export const HOST = {
  binary: '/usr/bin/outpost',
  config: '/etc/outpost/agent.yaml',
  state: '/var/lib/outpost',
  systemdUnitDeb: '/lib/systemd/system/outpost-agent.service',
  systemdUnitLocal: '/etc/systemd/system/outpost-agent.service',
  initScript: '/etc/init.d/outpost-agent',
  pidfile: '/run/outpost-agent.pid',
  log: '/var/log/outpost-agent.log',
  uninstaller: '/usr/lib/outpost/uninstall.sh',
  pki: '/usr/lib/outpost/pki.sh',
  relayConfig: '/etc/outpost/relay.yaml',
  relayState: '/var/lib/outpost-relay',
  relayUnitDeb: '/lib/systemd/system/outpost-relay.service',
  relayUnitLocal: '/etc/systemd/system/outpost-relay.service',
  relayInitScript: '/etc/init.d/outpost-relay',
  examples: '/usr/share/doc/outpost/examples',
} as const;

/** Example manifests (a first host in local mode, tiers, policy tests, a staged policy): in every package. */
export const EXAMPLES = join(ROOT, 'examples');
/** The certificate helper for the MQTT channel, shipped so an operator needs no checkout. */
export const PKI_SCRIPT = join(ROOT, 'scripts', 'pki.sh');

/** The command that makes a missing artifact. */
export const BUILD_HINT = 'bun scripts/build.ts && bun scripts/package.ts';
