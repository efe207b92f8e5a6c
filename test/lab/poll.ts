/**
 * Polls `probe` until `ok` holds, then returns that value (narrowed when `ok` is a type guard,
 * e.g. `(h) => h !== undefined`). On time-out the error names what was awaited, the last value
 * and whatever `context` adds (a process's stderr), so a failing lab test says why.
 */
export async function pollUntil<T, U extends T = T>(
  what: string,
  probe: () => Promise<T>,
  ok: ((v: T) => v is U) | ((v: T) => boolean),
  opts: { timeoutMs?: number; intervalMs?: number; context?: () => string } = {},
): Promise<U> {
  const end = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const v = await probe();
    if (ok(v)) return v as U;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}${opts.context ? `\n${opts.context()}` : ''}`);
    await Bun.sleep(opts.intervalMs ?? 200);
  }
}
