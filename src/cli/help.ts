/**
 * Every subcommand's help: what it does, its flags and examples, in one shape so `--help`, the
 * nearest-flag suggestions and the README all read from the same place.
 */
export interface FlagHelp {
  /** As typed, with its value placeholder: "--node NAME", "-o, --output json|yaml". */
  readonly flag: string;
  readonly help: string;
}

export interface CommandHelp {
  /** "outpost status [options]" */
  readonly usage: string;
  /** One line: what the command is for. */
  readonly summary: string;
  /** Optional longer paragraphs, plain text. */
  readonly description?: string;
  readonly flags: readonly FlagHelp[];
  /** Whole command lines, each runnable as shown. */
  readonly examples: readonly string[];
}

/** The text `outpost <command> --help` prints. */
export function formatHelp(h: CommandHelp): string {
  const width = Math.min(32, Math.max(0, ...h.flags.map((f) => f.flag.length)) + 2);
  const lines = [`usage: ${h.usage}`, '', h.summary];
  if (h.description) lines.push('', h.description);
  if (h.flags.length) {
    lines.push('', 'options:');
    for (const f of h.flags) lines.push(f.flag.length + 2 > width ? `  ${f.flag}\n  ${' '.repeat(width)}${f.help}` : `  ${f.flag.padEnd(width)}${f.help}`);
  }
  if (h.examples.length) lines.push('', 'examples:', ...h.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

/** True when the arguments ask for help (`-h`/`--help` anywhere before a `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '-h' || a === '--help') return true;
  }
  return false;
}
