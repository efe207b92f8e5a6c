/**
 * Compiles src/main.ts into one standalone binary for one target. scripts/build.ts uses the
 * shipped options; the build-options benchmark compares others through the same function.
 */
import { join } from 'node:path';
import type { Target } from './targets.ts';
import { sourceCommit } from '../../src/platform/build-info.ts';

export const ROOT = join(import.meta.dir, '..', '..');

export interface CompileOptions {
  readonly minify: boolean;
  readonly bytecode: boolean;
  readonly format: 'esm' | 'cjs';
}

/**
 * What ships, chosen from the figures in docs/benchmarks.md ("Build options"): minify + bytecode
 * + ESM starts fastest; bytecode costs size, which xz mostly takes back.
 */
export const SHIPPED: CompileOptions = { minify: true, bytecode: true, format: 'esm' };

/** What only experiments change (scripts/bench): another entry point, runtime options baked in. */
export interface CompileExtra {
  readonly entry?: string;
  readonly execArgv?: readonly string[];
  readonly jitPolicy?: number;
}

export async function compile(target: Target, outfile: string, options: CompileOptions = SHIPPED, commit?: string, extra: CompileExtra = {}): Promise<void> {
  const result = await Bun.build({
    entrypoints: [extra.entry ?? join(ROOT, 'src', 'main.ts')],
    compile: {
      target: target.bun,
      outfile,
      // A root daemon reads only its own config: nothing from the directory it happens to start in.
      autoloadDotenv: false,
      autoloadBunfig: false,
      autoloadTsconfig: false,
      autoloadPackageJson: false,
      ...(extra.execArgv ? { execArgv: [...extra.execArgv] } : {}),
      ...(extra.jitPolicy !== undefined ? { jitPolicy: extra.jitPolicy } : {}),
    },
    minify: options.minify,
    bytecode: options.bytecode,
    format: options.format,
    define: {
      OUTPOST_COMMIT: JSON.stringify(commit ?? sourceCommit()),
      OUTPOST_TARGET: JSON.stringify(target.name),
    },
    throw: false,
  });
  if (!result.success) {
    throw new Error(`compile ${target.name} failed:\n${result.logs.map(String).join('\n')}`);
  }
}
