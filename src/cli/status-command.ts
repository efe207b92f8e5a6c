/** `outpost status`: being written this session (issue 13); the helper that owns it replaces this file. */
import type { CliIO } from './io.ts';
import type { CommandHelp } from './help.ts';

export const statusHelp: CommandHelp = { usage: 'outpost status [options]', summary: 'not written yet', flags: [], examples: [] };

export async function statusCommand(_args: string[], io: CliIO): Promise<number> {
  io.err('outpost status: not written yet');
  return 1;
}
