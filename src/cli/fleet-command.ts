/** `outpost fleet`: being written this session (issue 13); the helper that owns it replaces this file. */
import type { CliIO } from './io.ts';
import type { CommandHelp } from './help.ts';

export const fleetHelp: CommandHelp = { usage: 'outpost fleet [options]', summary: 'not written yet', flags: [], examples: [] };

export async function fleetCommand(_args: string[], io: CliIO): Promise<number> {
  io.err('outpost fleet: not written yet');
  return 1;
}
