/** Runs an outpost command in-process with captured output (no root, no kernel). */
import { main } from '../../src/main.ts';
import type { CliIO } from '../../src/cli/io.ts';

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** `command` defaults to the whole CLI (`main`); a test of one subcommand may pass it directly. */
export async function runCli(argv: string[], env: Record<string, string> = {}, command: (args: string[], io: CliIO) => Promise<number> = main): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await command(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), env });
  return { code, out, err };
}
