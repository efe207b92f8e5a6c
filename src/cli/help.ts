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

const LINE = 100;

/** Words of `text` in lines of at most `width` characters (a longer word stands alone). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + word.length > width) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}

/** The text `outpost <command> --help` prints: wrapped to 100 columns, each flag's help beside it. */
export function formatHelp(h: CommandHelp): string {
  const width = Math.min(32, Math.max(0, ...h.flags.map((f) => f.flag.length)) + 2);
  const lines = [`usage: ${h.usage}`, '', ...wrap(h.summary, LINE)];
  if (h.description) for (const para of h.description.split('\n')) lines.push('', ...wrap(para, LINE));
  if (h.flags.length) {
    lines.push('', 'options:');
    const pad = ' '.repeat(width + 2);
    for (const f of h.flags) {
      const text = wrap(f.help, LINE - width - 2);
      if (f.flag.length + 2 > width) lines.push(`  ${f.flag}`, ...text.map((t) => pad + t));
      else lines.push(`  ${f.flag.padEnd(width)}${text[0] ?? ''}`, ...text.slice(1).map((t) => pad + t));
    }
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

/** Levenshtein distance, case-insensitive: "loglevel" is one step from nothing but "logLevel". */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

/**
 * The candidate closest to `word`, when it is close enough to be what was meant (a typo, a
 * missing letter, different case); undefined when nothing is (no suggestion beats a wrong one).
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  // Short words need a near-exact match, or every two-letter typo would "mean" something.
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestD <= limit ? best : undefined;
}

/** The flags a CommandHelp documents, as typed: "-o, --output FMT" gives --output and -o. */
export function helpFlagNames(h: CommandHelp): string[] {
  return h.flags.flatMap((f) => f.flag.split(/[ ,|]+/).filter((w) => /^--?[A-Za-z]/.test(w)).map((w) => w.replace(/[=\[].*$/, '')));
}
