/** What the offline-bundle tests share: the CLI captured, a drop into gw's bundle folder, c1 → gw flows. */
import { renameSync, writeFileSync } from 'node:fs';
import { bundleCommand } from '../../src/cli/bundle-command.ts';
import type { SyncLab } from './sync-harness.ts';
import { runCli, type CliRun } from '../cli/run-cli.ts';

const GW1 = '198.18.1.1';

/** `outpost bundle ARGS`, its exit code and output. */
export const bundleCli = (...args: string[]): Promise<CliRun> => runCli(args, {}, bundleCommand);

/** Puts a file into gw's drop folder (`<lab>/drop`) the way a copy ends: whole, by rename. */
export function dropBundle(h: SyncLab, content: Uint8Array | string): void {
  writeFileSync(h.path('drop/.incoming'), content);
  renameSync(h.path('drop/.incoming'), h.path('drop/gw.bundle'));
}

/** Whether c1 reaches gw on TCP 80 and 443. */
export async function gwFlows(h: SyncLab): Promise<Record<number, boolean>> {
  const [p80, p443] = await Promise.all([h.tcp('c1', GW1, 80), h.tcp('c1', GW1, 443)]);
  return { 80: p80, 443: p443 };
}
