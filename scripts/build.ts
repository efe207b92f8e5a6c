/**
 * `bun run build`: compiles the outpost CLI into one self-contained binary for this machine,
 * dist/outpost. Cross-compilation for every target comes with the firmware-images work.
 */
import { $ } from 'bun';
import { join } from 'node:path';

const root = join(import.meta.dir, '..');
const out = join(root, 'dist', 'outpost');
await $`bun build --compile --minify ${join(root, 'src/main.ts')} --outfile ${out}`.quiet();
const size = Bun.file(out).size;
console.log(`built ${out} (${(size / 1024 / 1024).toFixed(1)} MiB)`);
