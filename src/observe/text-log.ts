/**
 * The human-readable log format (`logFormat: text`) for terminals: one line per record,
 *
 *   2026-12-01T20:00:00.000Z INFO  applied revision 12 in 38 ms node=gw1 hash=ab12cd
 *
 * A pino destination that turns pino's JSON line back into text, synchronously, on the same
 * fd. pino-pretty does this too, but it adds 14 packages and ~13 MB of resident memory, and its
 * layout is multi-line; a record here stays one line (control characters are escaped), so a
 * value from the outside cannot forge a second log line.
 */
import { writeSync } from 'node:fs';

/** The keys every record has, printed in front rather than as key=value. */
const HEAD = new Set(['time', 'level', 'msg']);

/** One JSON log line from pino as one text line (without the newline). Not JSON: returned as is, escaped. */
export function formatTextLine(json: string): string {
  let rec: unknown;
  try {
    rec = JSON.parse(json);
  } catch {
    return oneLine(json.trimEnd());
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return oneLine(json.trimEnd());
  const r = rec as Record<string, unknown>;
  const level = typeof r['level'] === 'string' ? r['level'].toUpperCase() : String(r['level'] ?? '');
  const parts = [typeof r['time'] === 'string' ? r['time'] : new Date().toISOString(), level.padEnd(5)];
  if (r['msg'] !== undefined) parts.push(oneLine(String(r['msg'])));
  for (const [k, val] of Object.entries(r)) {
    if (HEAD.has(k) || val === undefined) continue;
    parts.push(`${oneLine(k)}=${value(k, val)}`);
  }
  return parts.join(' ');
}

function value(key: string, v: unknown): string {
  // pino's error serializer gives {type, message, stack}: the message is what a terminal wants.
  if (key === 'err' && v !== null && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') return quoted((v as { message: string }).message);
  if (typeof v === 'string') return quoted(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return escapeCc(JSON.stringify(v) ?? String(v));
}

/** Bare when it is one plain word, JSON-quoted otherwise (spaces, quotes, '=', control characters, empty). */
function quoted(s: string): string {
  return /^[^\s"=\\\p{Cc}]+$/u.test(s) ? s : escapeCc(JSON.stringify(s));
}

/** Control characters (newlines included) escaped, so one record is one line. */
function oneLine(s: string): string {
  return s.replace(/\p{Cc}/gu, (c) => JSON.stringify(c).slice(1, -1)).replace(/\p{Cc}/gu, cc);
}

/** What JSON leaves raw: DEL and the C1 controls (U+0080-U+009F: CSI, NEL) a terminal may act on. */
const cc = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
const escapeCc = (s: string) => s.replace(/\p{Cc}/gu, cc);

/** A synchronous pino destination writing the text format to `fd` (stderr by default). */
export function textDestination(fd = 2): { write(line: string): void } {
  return {
    write(chunk: string) {
      // pino writes one record per call, ending in '\n'.
      for (const line of chunk.split('\n')) if (line !== '') writeSync(fd, `${formatTextLine(line)}\n`);
    },
  };
}
