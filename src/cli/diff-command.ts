/** `outpost diff`: being written this session (issue 13); the helper that owns it replaces this file. */
import type { CliIO } from './io.ts';
import type { CommandHelp } from './help.ts';

export const diffHelp: CommandHelp = { usage: 'outpost diff [options]', summary: 'not written yet', flags: [], examples: [] };

export async function diffCommand(_args: string[], io: CliIO): Promise<number> {
  io.err('outpost diff: not written yet');
  return 1;
}
