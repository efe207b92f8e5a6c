/** What the offline-bundle tests share: the CLI captured, a drop into gw's bundle folder. */
import { renameSync, writeFileSync } from 'node:fs';
import { bundleCommand } from '../../src/cli/bundle-command.ts';
import type { SyncLab } from './sync-harness.ts';
import { runCli, type CliRun } from '../cli/run-cli.ts';

/** `outpost bundle ARGS`, its exit code and output. */
export const bundleCli = (...args: string[]): Promise<CliRun> => runCli(args, {}, bundleCommand);

/** Puts a file into gw's drop folder (`<lab>/drop`) the way a copy ends: whole, by rename. */
export function dropBundle(h: SyncLab, content: Uint8Array | string): void {
  writeFileSync(h.path('drop/.incoming'), content);
  renameSync(h.path('drop/.incoming'), h.path('drop/gw.bundle'));
}
