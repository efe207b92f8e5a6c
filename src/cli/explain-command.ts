/** `outpost explain`: being written this session (issue 13); the helper that owns it replaces this file. */
import type { CliIO } from './io.ts';
import type { CommandHelp } from './help.ts';

export const explainHelp: CommandHelp = { usage: 'outpost explain [options]', summary: 'not written yet', flags: [], examples: [] };

export async function explainCommand(_args: string[], io: CliIO): Promise<number> {
  io.err('outpost explain: not written yet');
  return 1;
}
