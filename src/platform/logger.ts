/**
 * Structured logging (pino) to stderr, one JSON object per line, so a supervisor's journal
 * or a serial console gets parseable lines. Created by main and passed down, never global.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = process.env['OUTPOST_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
}
