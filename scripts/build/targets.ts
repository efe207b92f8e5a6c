/**
 * Every target outpost ships for. `name` is what dist/, firmware-images/ and the tarballs are
 * called; `bun` is the runtime `bun build --compile --target` embeds; `deb` the Debian
 * architecture, for the one build per architecture that gets a .deb.
 */
export interface Target {
  readonly name: string;
  readonly bun: Bun.Build.CompileTarget;
  readonly arch: 'x64' | 'arm64';
  readonly libc: 'glibc' | 'musl';
  /** Debian architecture, set on the build that the .deb for that architecture carries. */
  readonly deb?: 'amd64' | 'arm64';
  readonly note: string;
}

export const TARGETS: readonly Target[] = [
  { name: 'linux-x64', bun: 'bun-linux-x64', arch: 'x64', libc: 'glibc', note: 'x86-64 with AVX2 (Haswell, 2013, and later)' },
  // Debian's amd64 promises only the x86-64 baseline, so the .deb carries the baseline build.
  { name: 'linux-x64-baseline', bun: 'bun-linux-x64-baseline', arch: 'x64', libc: 'glibc', deb: 'amd64', note: 'any x86-64 CPU (Nehalem-era and older)' },
  { name: 'linux-arm64', bun: 'bun-linux-arm64', arch: 'arm64', libc: 'glibc', deb: 'arm64', note: 'ARMv8-A 64-bit, glibc (Debian, Ubuntu, Raspberry Pi OS 64-bit)' },
  { name: 'linux-x64-musl', bun: 'bun-linux-x64-musl', arch: 'x64', libc: 'musl', note: 'x86-64 with AVX2, musl (Alpine); needs libstdc++ and libgcc' },
  { name: 'linux-x64-musl-baseline', bun: 'bun-linux-x64-baseline-musl', arch: 'x64', libc: 'musl', note: 'any x86-64 CPU, musl; needs libstdc++ and libgcc' },
  { name: 'linux-arm64-musl', bun: 'bun-linux-arm64-musl', arch: 'arm64', libc: 'musl', note: 'ARMv8-A 64-bit, musl (Alpine, OpenWrt-style images); needs libstdc++ and libgcc' },
];

export function targetByName(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}

/** The glibc target this machine runs natively: what dist/outpost is a copy of. */
export function hostTarget(): Target {
  const name = process.arch === 'arm64' ? 'linux-arm64' : 'linux-x64';
  return targetByName(name)!;
}

export const binaryPath = (distDir: string, target: Target): string => `${distDir}/outpost-${target.name}`;
