/**
 * One call each for the agent and the relay to start their metrics and health endpoint. Import
 * this module lazily (`await import(...)`) and only when the endpoint is on: prom-client is
 * loaded here, and the agent's start without metrics must not pay for it.
 */
import type { AgentObserver } from '../agent/observations.ts';
import type { RelayObserver } from '../relay/observations.ts';
import type { Logger } from '../platform/logger.ts';
import { loadProm } from './prom.ts';
import { createAgentMetrics, type PolicyPackets } from './agent-metrics.ts';
import { createRelayMetrics } from './relay-metrics.ts';
import { ListenError, startHealthServer, type HealthServer } from './health-server.ts';
import { DEFAULT_RELAY_METRICS_LISTEN, parseListenAddress } from './listen-address.ts';

export interface Endpoint<O> {
  /** Give it to the agent's / relay's observers. */
  readonly observer: O;
  readonly server: HealthServer;
  stop(): Promise<void>;
}

/**
 * The agent's endpoint, or undefined when `listen` is off. Throws ListenError (a clear sentence
 * naming the address) when it cannot bind: a configured endpoint that is silently absent would
 * look like a dead agent to whoever scrapes it.
 */
export async function startAgentEndpoint(opts: { readonly listen: string | undefined; readonly log: Logger; readonly policyPackets?: (() => Promise<readonly PolicyPackets[]>) | undefined }): Promise<Endpoint<AgentObserver> | undefined> {
  const address = off(opts.listen);
  if (!address) return undefined;
  const metrics = createAgentMetrics(await loadProm(), opts.policyPackets ? { policyPackets: opts.policyPackets } : {});
  const server = startHealthServer({ listen: address, registry: metrics.registry, ready: () => metrics.ready(), log: opts.log });
  return { observer: metrics.observer, server, stop: () => server.stop() };
}

/**
 * The relay's endpoint: on by default. `listen` undefined (not configured) means
 * DEFAULT_RELAY_METRICS_LISTEN, where a port already taken (a second relay on the host) is
 * logged as a warning and the relay runs without the endpoint; a configured address that
 * cannot be bound throws ListenError, like the agent's. 'off': undefined.
 */
export async function startRelayEndpoint(opts: { readonly listen: string | undefined; readonly log: Logger }): Promise<Endpoint<RelayObserver> | undefined> {
  const address = off(opts.listen ?? DEFAULT_RELAY_METRICS_LISTEN);
  if (!address) return undefined;
  const metrics = createRelayMetrics(await loadProm());
  let server: HealthServer;
  try {
    server = startHealthServer({ listen: address, registry: metrics.registry, ready: () => metrics.ready(), log: opts.log });
  } catch (e) {
    if (opts.listen !== undefined || !(e instanceof ListenError)) throw e;
    opts.log.warn({ err: e.message }, 'no metrics and health endpoint (set metricsListen to another address, or off)');
    return undefined;
  }
  return { observer: metrics.observer, server, stop: () => server.stop() };
}

function off(listen: string | undefined) {
  if (listen === undefined) return undefined;
  const r = parseListenAddress(listen);
  // The config schema already refused a bad value; a caller that skipped it gets the same sentence.
  if (!r.ok) throw new ListenError(`metricsListen: ${r.error}`);
  return r.address;
}
