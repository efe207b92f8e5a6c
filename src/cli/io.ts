/** What a command needs from the process, passed in so commands stay testable. */
export interface CliIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const isBrokenPipe = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';

/** A write to a reader that went away (`| head`) ends the process quietly with status 0. */
function writeTo(stream: NodeJS.WriteStream, t: string): void {
  try {
    stream.write(t.endsWith('\n') ? t : `${t}\n`);
  } catch (e) {
    if (!isBrokenPipe(e)) throw e;
    process.exit(0);
  }
}

export const processIO: CliIO = {
  out: (t) => writeTo(process.stdout, t),
  err: (t) => writeTo(process.stderr, t),
  env: process.env,
};

/**
 * Like other Unix tools, outpost ends quietly when its output is closed early (`outpost get ...
 * | head`): status 0 and no stack trace. Writes fail asynchronously, as 'error' events on the
 * stream, so this is a process-wide handler rather than a check around each write.
 */
export function endQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e) => {
      if (isBrokenPipe(e)) process.exit(0);
      throw e;
    });
  }
}

export class UsageError extends Error {
  readonly code = 'USAGE' as const;
}
