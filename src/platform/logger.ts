/**
 * Structured logging (pino) to stderr. Created by main and passed down, never global.
 *
 * `json` (the default): one JSON object per line with the level as a name ("level":"info") and
 * an ISO time, so a supervisor's journal, a serial console or a log shipper gets parseable
 * lines without knowing pino's numbers. `text`: the same records as one readable line each, for
 * a terminal (src/observe/text-log.ts).
 */
import pino from 'pino';
import { textDestination } from '../observe/text-log.ts';

export type Logger = pino.Logger;
export type LogFormat = 'json' | 'text';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];

export function createLogger(level: string = process.env['OUTPOST_LOG_LEVEL'] ?? 'info', format: LogFormat = 'json'): Logger {
  const options: pino.LoggerOptions = { level, base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } };
  return pino(options, format === 'text' ? textDestination(2) : pino.destination({ fd: 2, sync: true }));
}
