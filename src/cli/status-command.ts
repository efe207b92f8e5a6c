/**
 * `outpost status`: what this host enforces, from the agent's status file (`<state>/status.json`,
 * written by the agent on every change) and the kernel's counters (`nft -j list table inet
 * outpost`). Works whether the agent runs or not: the state dir's lock says which.
 */
import { readFileSync } from 'node:fs';
import { access, constants, readFile, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { listCounters } from '../nft/counter-listing.ts';
import type { CliIO } from './io.ts';
import { UsageError } from './io.ts';
import type { CommandHelp } from './help.ts';
import { parseLocalStatus, STATUS_FILE, type LocalStatus } from '../protocol/local-status.ts';
import { holderPid } from '../agent/state-lock.ts';
import { buildReport, type AgentProcess } from '../agent/status-report.ts';
import { formatReport } from '../agent/status-text.ts';
import { parseDuration } from '../config/duration.ts';
import { loadConfigFile } from '../config/load-file.ts';

const DEFAULT_STATE = '/var/lib/outpost';
const DEFAULT_CONFIG = '/etc/outpost/agent.yaml';
const DEFAULT_WATCH_MS = 2000;
/** The agent writes a few KiB to a few MiB (capped plan); anything far larger is not its file. */
const MAX_STATUS_BYTES = 32 * 1024 * 1024;

export const statusHelp: CommandHelp = {
  usage: 'outpost status [--state DIR] [-o json] [--watch [INTERVAL]]',
  summary: 'What this host enforces: source, state, revision, last apply, each host endpoint and its interfaces, the policies in evaluation order with their packet counters, staged policies, refusals and resources held back as invalid.',
  description:
    'Reads the status file the agent keeps in its state directory and the counters of the nft table inet outpost; works while the agent runs and after it stopped (it says which). ' +
    'Exit status: 0 in sync (the agent runs, its state is in-sync and its table is in the kernel), 1 degraded (cached, stale, error, agent not running, table missing, a state directory the agent cannot write: read-only or full), 2 the status file cannot be read or a usage error.',
  flags: [
    { flag: '--state DIR', help: `the agent's state directory (default: the agent config's state, else ${DEFAULT_STATE})` },
    { flag: '--config FILE', help: `the agent config to take the state directory from (default ${DEFAULT_CONFIG} when it exists)` },
    { flag: '-o, --output json', help: 'print the report as JSON (one object; in --watch, one per line)' },
    { flag: '--watch [INTERVAL]', help: 'print again every INTERVAL (default 2s; e.g. 5s, 1m) until interrupted' },
    { flag: '--nft PATH', help: 'the nft binary to read counters with (default nft)' },
  ],
  examples: ['outpost status', 'outpost status -o json | jq .state', 'outpost status --watch 5s', 'outpost status --state /var/lib/outpost-test'],
};

interface Options {
  state?: string;
  config?: string;
  json: boolean;
  watchMs?: number;
  nft: string;
}

/** parseArgs cannot take a flag with an optional value (`--watch [INTERVAL]`), so the few flags are read here. */
export function parseStatusArgs(args: readonly string[]): Options {
  const o: Options = { json: false, nft: 'nft' };
  const value = (i: number, flag: string): string => {
    const v = args[i + 1];
    if (v === undefined || v.startsWith('-')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const take = () => inline ?? value(i++, flag);
    switch (flag) {
      case '--state':
        o.state = take();
        break;
      case '--config':
        o.config = take();
        break;
      case '--nft':
        o.nft = take();
        break;
      case '-o':
      case '--output': {
        const f = take();
        if (f !== 'json') throw new UsageError(`-o must be json (got '${f}'); without -o the report is text`);
        o.json = true;
        break;
      }
      case '--watch': {
        const next = inline ?? args[i + 1];
        if (next !== undefined && !next.startsWith('-') && /^\d/.test(next)) {
          if (inline === undefined) i++;
          const ms = parseDuration(/^\d+$/.test(next) ? `${next}s` : next);
          if (ms instanceof Error || ms < 100) throw new UsageError(`--watch: ${ms instanceof Error ? ms.message : `${next} is too short (at least 100ms)`}`);
          o.watchMs = ms;
        } else o.watchMs = DEFAULT_WATCH_MS;
        break;
      }
      default:
        // Shaped like parseArgs' error, so main suggests the nearest flag from statusHelp.
        if (a.startsWith('-')) throw Object.assign(new TypeError(`Unknown option '${flag}'`), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
        throw new UsageError(`status takes no arguments (got '${a}')`);
    }
  }
  return o;
}

/** --state, else OUTPOST_STATE, else the agent config's `state` (relative to the file), else the default. */
async function stateDir(o: Options, io: CliIO): Promise<string> {
  if (o.state !== undefined) return o.state;
  const env = io.env['OUTPOST_STATE'];
  if (env) return env;
  const path = o.config ?? io.env['OUTPOST_CONFIG'] ?? DEFAULT_CONFIG;
  const r = await loadConfigFile(path, o.config !== undefined);
  if (!r.ok) throw new UsageError(r.error);
  const s = r.settings['state'];
  if (s === undefined) return DEFAULT_STATE;
  if (typeof s !== 'string' || s === '') throw new UsageError(`${path}: state must be a folder path (got ${JSON.stringify(s)})`);
  return resolve(dirname(path), s);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function agentProcess(dir: string, s: LocalStatus): AgentProcess {
  const holder = holderPid(dir);
  if (holder !== undefined) return { running: true, lockHolder: holder, how: `pid ${holder} holds the state directory's lock` };
  // No holder: either no agent, or /proc/locks unreadable; the pid is the weaker hint then.
  let locksReadable = true;
  try {
    readFileSync('/proc/locks');
  } catch {
    locksReadable = false;
  }
  if (locksReadable) return { running: false, how: `no process holds the state directory's lock${pidAlive(s.pid) ? ` (pid ${s.pid} exists but is not the agent of this state dir)` : ''}` };
  return pidAlive(s.pid) ? { running: true, how: `pid ${s.pid} is alive (locks cannot be read)` } : { running: false, how: `pid ${s.pid} is gone` };
}

/** Why the agent cannot write `dir` now (read-only, full), or undefined. Best effort: never throws. */
export async function stateDirProblem(dir: string): Promise<string | undefined> {
  try {
    await access(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return `the state directory ${dir} is on a read-only filesystem`;
    // EACCES and the like: this user cannot write it, which says nothing about the agent (root).
    return undefined;
  }
  try {
    const fs = await statfs(dir);
    // bfree: root's view too (the agent runs as root and may use the reserved blocks).
    if (fs.bfree === 0) return `the state directory ${dir} has no free space`;
  } catch {
    // statfs unsupported here: nothing known.
  }
  return undefined;
}

async function stagedReader(): Promise<((listing: unknown, plan?: { staged?: readonly { key: string; name: string }[] }) => import('../nft/staged-counters.ts').StagedCount[]) | undefined> {
  try {
    return (await import('../nft/staged-counters.ts')).stagedCounts;
  } catch {
    return undefined;
  }
}

/** One report: 0/1 as the report says, 2 when the status file cannot be read. */
async function once(dir: string, o: Options, io: CliIO): Promise<number> {
  const file = join(dir, STATUS_FILE);
  let text: string;
  try {
    const size = (await stat(file)).size;
    if (size > MAX_STATUS_BYTES) throw new Error(`it is ${size} bytes, far more than an agent writes (${MAX_STATUS_BYTES} at most)`);
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const holder = holderPid(dir);
    const why = code === 'ENOENT' ? `no status file at ${file}${holder !== undefined ? ` (an agent, pid ${holder}, holds the state directory: is it older than this outpost?)` : ' (no agent has run with this state directory, or --state points elsewhere)'}` : `cannot read ${file}: ${(e as Error).message}`;
    if (o.json) io.out(JSON.stringify({ statusFile: file, error: why, exitCode: 2 }));
    else io.err(`outpost status: ${why}`);
    return 2;
  }
  const parsed = parseLocalStatus(text);
  if (!parsed.ok) {
    const why = `${file} is not a valid status file: ${parsed.message}`;
    if (o.json) io.out(JSON.stringify({ statusFile: file, error: why, exitCode: 2 }));
    else io.err(`outpost status: ${why}`);
    return 2;
  }
  const staged = await stagedReader();
  const stagedNames = parsed.status.staged;
  const report = buildReport({
    file,
    status: parsed.status,
    agent: agentProcess(dir, parsed.status),
    table: await listCounters(o.nft),
    stateDirProblem: await stateDirProblem(dir),
    ...(staged ? { staged: (l: unknown) => staged(l, stagedNames ? { staged: stagedNames } : undefined) } : {}),
  });
  io.out(o.json ? JSON.stringify(report) : formatReport(report));
  return report.exitCode;
}

export async function statusCommand(args: string[], io: CliIO): Promise<number> {
  const o = parseStatusArgs(args);
  const dir = await stateDir(o, io);
  if (o.watchMs === undefined) return once(dir, o, io);
  // Until SIGINT/SIGTERM: the report again every interval; a closed pipe ends it quietly (io).
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stop = r));
  const onSignal = () => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (let first = true; ; first = false) {
      if (!first && !o.json) io.out(`--- ${new Date().toISOString()}`);
      await once(dir, o, io);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise<'tick'>((r) => (timer = setTimeout(() => r('tick'), o.watchMs)));
      const r = await Promise.race([tick, stopped.then(() => 'stop' as const)]);
      clearTimeout(timer);
      if (r === 'stop') return 0;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
