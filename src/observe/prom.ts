/**
 * prom-client, loaded on demand. Only the four modules used here are imported, not the
 * package's index: the index also loads its Pushgateway (node:http, node:https) and cluster
 * aggregator, which in the compiled binary cost ~25 ms and ~15 MB resident on every start that
 * serves metrics; these four cost ~6 ms and ~6 MB (measured with `bun build --compile`, see the
 * metrics notes in docs). Nothing else in outpost imports prom-client, so an agent without
 * `metricsListen` never loads it.
 */
import type * as Prom from 'prom-client';

export interface PromClient {
  readonly Registry: typeof Prom.Registry;
  readonly Counter: typeof Prom.Counter;
  readonly Gauge: typeof Prom.Gauge;
  readonly Histogram: typeof Prom.Histogram;
}
export type Registry = Prom.Registry;

let loaded: Promise<PromClient> | undefined;

export function loadProm(): Promise<PromClient> {
  loaded ??= Promise.all([
    import('prom-client/lib/registry'),
    import('prom-client/lib/counter'),
    import('prom-client/lib/gauge'),
    import('prom-client/lib/histogram'),
  ]).then(([r, c, g, h]) => ({ Registry: r.default, Counter: c.default, Gauge: g.default, Histogram: h.default }));
  return loaded;
}
