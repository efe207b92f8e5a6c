/**
 * Observers (status file, metrics, auto host endpoints) are told about the agent's and the
 * relay's events; one that throws is reported and skipped, so an observer's bug never stops
 * enforcement or publication. One loop for both, so the rule cannot drift between them.
 */
export function callObservers<O extends object, K extends keyof O>(
  observers: readonly O[],
  event: K,
  args: readonly unknown[],
  failed: (event: K, err: string) => void,
): void {
  for (const o of observers) {
    const f = o[event] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof f !== 'function') continue;
    try {
      f.apply(o, args as unknown[]);
    } catch (e) {
      failed(event, e instanceof Error ? e.message : String(e));
    }
  }
}
