/** Where the built binaries are, and a clear failure when the build has not run. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const DIST = join(import.meta.dir, '../../dist');
export const QEMU_ARM64 = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];

export function builtBinary(target: string): string {
  const path = join(DIST, `outpost-${target}`);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`bun scripts/build.ts\` (the test command does) first`);
  return path;
}
