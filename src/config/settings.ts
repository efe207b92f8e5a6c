/**
 * One table per command lists every setting once, with its config-file key, environment
 * variable and flag, so the three can never drift apart (and the README table is printed from
 * it). Precedence, highest first: flags, OUTPOST_* environment, the YAML config file, defaults.
 */
import { parseArgs } from 'node:util';
import { dirname, isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import { loadConfigFile } from './load-file.ts';
import { UsageError, type CliIO } from '../cli/io.ts';
import { nearest } from '../cli/help.ts';

export interface Setting {
  readonly key: string;
  readonly env: string;
  readonly flag: string;
  /** list: repeatable flag, comma-separated env, YAML sequence (or one string) in the file. */
  readonly kind: 'string' | 'list' | 'boolean';
  readonly help: string;
  /**
   * A filesystem path: made absolute when the command starts, because the agent runs nft and
   * reopens files from `/` (a relative state dir would then name a different place). `command`
   * paths are resolved only when they contain a "/" (a bare name is looked up on PATH).
   * `created`: a folder the command creates when missing (a state directory). `--check-config`
   * checks each kind (path-checks.ts): `file` must exist and be readable (a file or a folder).
   */
  readonly path?: 'file' | 'command' | 'created';
}

export type RawSettings = Record<string, unknown>;

function fromEnvValue(s: Setting, val: string): unknown {
  if (s.kind === 'list') return val.split(',').map((x) => x.trim()).filter(Boolean);
  if (s.kind === 'boolean') return /^(1|true|yes|on)$/i.test(val) ? true : /^(0|false|no|off)$/i.test(val) ? false : val;
  return val;
}

export function mergeSettings(
  table: readonly Setting[],
  file: RawSettings,
  env: Readonly<Record<string, string | undefined>>,
  flags: RawSettings,
  defaults: RawSettings = {},
): RawSettings {
  const known = new Set(table.map((s) => s.key));
  const merged: RawSettings = { ...defaults };
  // Unknown file keys stay in, so the schema (strict) can name them instead of ignoring a typo.
  for (const [k, val] of Object.entries(file)) merged[k] = val;
  for (const s of table) {
    const val = env[s.env];
    if (val !== undefined && val !== '') merged[s.key] = fromEnvValue(s, val);
  }
  for (const [k, val] of Object.entries(flags)) if (val !== undefined && known.has(k)) merged[k] = val;
  for (const s of table) if (s.kind === 'list' && typeof merged[s.key] === 'string') merged[s.key] = [merged[s.key]];
  return merged;
}

/** Where each setting's value comes from, by the precedence mergeSettings applies. */
function settingOrigins(table: readonly Setting[], file: RawSettings, env: Readonly<Record<string, string | undefined>>, flags: RawSettings, filePath: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of table) {
    if (flags[s.key] !== undefined) out[s.key] = s.flag;
    else if (env[s.env] !== undefined && env[s.env] !== '') out[s.key] = s.env;
    else if (filePath && s.key in file) out[s.key] = filePath;
  }
  return out;
}

function resolvePath(s: Setting, val: string, base: string): string {
  if (val === '' || isAbsolute(val)) return val;
  if (s.path === 'command' && !val.includes('/')) return val;
  return resolve(base, val);
}

/**
 * Makes the path settings in `raw` absolute against `base`: the config file's folder for its
 * own values (so a file means the same wherever the agent is started), the working directory
 * for flags and environment.
 */
export function resolvePaths(table: readonly Setting[], raw: RawSettings, base: string): RawSettings {
  const out: RawSettings = { ...raw };
  for (const s of table) {
    if (!s.path) continue;
    const val = out[s.key];
    if (typeof val === 'string') out[s.key] = resolvePath(s, val, base);
    else if (Array.isArray(val)) out[s.key] = val.map((x) => (typeof x === 'string' ? resolvePath(s, x, base) : x));
  }
  return out;
}

/** Where each setting's value came from, for error messages: "--log-level", "OUTPOST_LOG_LEVEL", a file path. */
export interface SettingsOrigin {
  /** The config file read, if any: unknown keys can only come from it. */
  readonly file?: string;
  readonly byKey?: Readonly<Record<string, string>>;
}

const shorten = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

/** valibot's `expected` for a type, as a user would say it. */
function expectedWords(expected: string | null): string {
  const words: Record<string, string> = { string: 'text', Array: 'a list', boolean: 'true or false', number: 'a number', Object: 'a mapping' };
  const parts = (expected ?? '').replace(/^\(|\)$/g, '').split(' | ').map((p) => words[p] ?? p);
  return parts.join(' or ');
}

/** One valibot issue as a plain sentence about the setting, its value and what is allowed. */
function issueSentence(issue: v.BaseIssue<unknown>, key: string, known: readonly string[], origin: SettingsOrigin): string {
  const value = issue.received === 'Object' ? 'a mapping' : issue.received === 'Array' ? 'a list' : shorten(issue.received);
  const from = origin.byKey?.[key.split(/[.[]/)[0]!];
  const where = from ? ` (from ${from})` : '';
  // A message written for the setting (not valibot's generic "Invalid ...") says it best.
  const custom = (m: string) => !/^Invalid \w+: /.test(m);
  switch (issue.type) {
    case 'strict_object': {
      const name = issue.received.replace(/^"|"$/g, '');
      const near = nearest(name, known);
      return `${origin.file ?? 'config'}: unknown setting "${shorten(name)}"${near ? `; did you mean "${near}"?` : `; the settings are ${known.join(', ')}`}`;
    }
    case 'picklist': {
      const allowed = [...(issue.expected ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1]);
      return `${key}: ${value} is not allowed; use one of ${allowed.join(', ')}${where}`;
    }
    case 'union': {
      // A value of the right type that failed a rule of one branch: that rule's words.
      const rule = issue.issues?.find((i) => i.kind === 'validation' && custom(i.message));
      if (rule) return `${key}: ${value} ${rule.message}${where}`;
      return `${key}: must be ${expectedWords(issue.expected)}, not ${value}${where}`;
    }
  }
  if (custom(issue.message)) {
    if (issue.message.startsWith('must ') && (typeof issue.input === 'string' || typeof issue.input === 'number')) return `${key}: ${value} ${issue.message}${where}`;
    const scalar = typeof issue.input === 'string' || typeof issue.input === 'number';
    return `${key}: ${issue.message}${!scalar || issue.message.includes(String(issue.input)) ? '' : ` (got ${value})`}${where}`;
  }
  if (issue.kind === 'schema') return `${key}: must be ${expectedWords(issue.expected)}, not ${value}${where}`;
  const bound = (issue.expected ?? '').replace(/^[<>]=?/, '');
  if (issue.type === 'min_value') return `${key}: ${value} is too small; the least allowed is ${bound}${where}`;
  if (issue.type === 'max_value') return `${key}: ${value} is too large; the most allowed is ${bound}${where}`;
  if (issue.type === 'min_length') return `${key}: needs at least ${bound} ${Array.isArray(issue.input) ? 'item(s)' : 'character(s)'}${where}`;
  if (issue.type === 'max_length') return `${key}: allows at most ${bound} ${Array.isArray(issue.input) ? 'item(s)' : 'character(s)'}, got ${value}${where}`;
  if (issue.type === 'integer') return `${key}: ${value} must be a whole number${where}`;
  return `${key}: ${value} is not allowed (${issue.message})${where}`;
}

/**
 * Validates merged settings. Every problem is a sentence that names the setting, the value and
 * what is allowed, and where the value came from when `origin` says; one problem per setting
 * (the first: later ones on the same value are usually its consequences).
 */
export function parseSettings<S extends v.GenericSchema>(schema: S, raw: RawSettings, origin: SettingsOrigin = {}, known: readonly string[] = []): { ok: true; config: v.InferOutput<S> } | { ok: false; errors: string[] } {
  const r = v.safeParse(schema, raw);
  if (r.success) return { ok: true, config: r.output };
  const seen = new Set<string>();
  const errors: string[] = [];
  for (const i of r.issues) {
    const path = v.getDotPath(i);
    if (path === null) {
      // Cross-setting rules: their messages name the settings already.
      errors.push(i.message);
      continue;
    }
    if (seen.has(path)) continue;
    seen.add(path);
    errors.push(issueSentence(i, path, known, origin));
  }
  return { ok: false, errors };
}

type ExtraOptions = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/**
 * Parses a command's argv against its table (plus command-only flags such as --once),
 * reads the config file (--config, or $OUTPOST_CONFIG, or the default path if it exists) and
 * returns the validated config. Problems become UsageError (exit 2).
 */
export async function loadCommandConfig<S extends v.GenericSchema>(opts: {
  args: string[];
  io: CliIO;
  table: readonly Setting[];
  schema: S;
  defaultConfigFile: string;
  defaults?: RawSettings;
  extra?: ExtraOptions;
  what: string;
}): Promise<{ config: v.InferOutput<S>; extra: Record<string, unknown>; positionals: string[] }> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { config: { type: 'string' }, ...opts.extra };
  for (const s of opts.table) {
    options[s.flag.replace(/^--/, '')] = s.kind === 'boolean' ? { type: 'boolean' } : s.kind === 'list' ? { type: 'string', multiple: true } : { type: 'string' };
  }
  const { values, positionals } = parseArgs({ args: opts.args, options, allowPositionals: true });
  const flags: RawSettings = {};
  for (const s of opts.table) {
    let val = values[s.flag.replace(/^--/, '')];
    // A list flag may also be given comma-separated, as the env variable is.
    if (s.kind === 'list' && Array.isArray(val)) val = val.flatMap((x) => String(x).split(',').map((y) => y.trim()).filter(Boolean));
    flags[s.key] = val;
  }
  const configPath = (values.config as string | undefined) ?? opts.io.env['OUTPOST_CONFIG'];
  const file = await loadConfigFile(configPath ?? opts.defaultConfigFile, configPath !== undefined);
  if (!file.ok) throw new UsageError(file.error);
  const fileBase = configPath ?? opts.defaultConfigFile;
  const fileSettings = resolvePaths(opts.table, file.settings, dirname(resolve(fileBase)));
  const merged = resolvePaths(opts.table, mergeSettings(opts.table, fileSettings, opts.io.env, flags, opts.defaults), process.cwd());
  const fileRead = Object.keys(file.settings).length ? resolve(fileBase) : undefined;
  const parsed = parseSettings(opts.schema, merged, { ...(fileRead ? { file: fileRead } : {}), byKey: settingOrigins(opts.table, file.settings, opts.io.env, flags, fileRead) }, opts.table.map((s) => s.key));
  if (!parsed.ok) throw new UsageError(`invalid ${opts.what} configuration:\n  ${parsed.errors.join('\n  ')}`);
  const extra: Record<string, unknown> = {};
  for (const k of Object.keys(opts.extra ?? {})) extra[k] = values[k];
  return { config: parsed.config, extra, positionals };
}

/** The settings table as Markdown, for the README. */
export function settingsMarkdown(table: readonly Setting[]): string {
  const rows = table.map((s) => `| \`${s.key}\` | \`${s.env}\` | \`${s.flag}\` | ${s.help.replaceAll('|', '\\|')} |`);
  return ['| config key | environment | flag | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
