/** `outpost version [-o json]`: version, git commit, build target and Bun version. */
import { parseArgs } from 'node:util';
import { buildInfo } from '../platform/build-info.ts';
import { UsageError, type CliIO } from './io.ts';

export async function versionCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { output: { type: 'string', short: 'o' } }, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`version takes no arguments (got ${positionals.join(' ')})`);
  const info = buildInfo();
  if (values.output === 'json') {
    io.out(JSON.stringify(info));
    return 0;
  }
  if (values.output !== undefined) throw new UsageError(`-o must be json (got '${values.output}')`);
  io.out(`outpost ${info.version}\ncommit  ${info.commit}\ntarget  ${info.target}\nbun     ${info.bun}`);
  return 0;
}
