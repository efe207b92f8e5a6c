/** Retry delays shared by every retry loop (nft apply, state dir writes, nft monitor, MQTT reconnect). */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The capped exponential step: attempt 0 waits initialMs, each further attempt doubles it, up to maxMs. */
export function backoffStep(attempt: number, b: Backoff): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(Math.max(0, attempt), 30));
}
