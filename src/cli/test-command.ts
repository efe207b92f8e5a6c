/** `outpost test`: being written this session (issue 13); the helper that owns it replaces this file. */
import type { CliIO } from './io.ts';
import type { CommandHelp } from './help.ts';

export const testHelp: CommandHelp = { usage: 'outpost test [options]', summary: 'not written yet', flags: [], examples: [] };

export async function testCommand(_args: string[], io: CliIO): Promise<number> {
  io.err('outpost test: not written yet');
  return 1;
}
