/**
 * The health and metrics endpoint of the agent and the relay (plain HTTP, read-only):
 *
 *   GET /metrics   Prometheus text exposition
 *   GET /livez     200 "ok" while the process answers
 *   GET /readyz    200 "ready", or 503 with the reason as text
 *
 * Anything else is 404; a method other than GET or HEAD is 405. There is nothing to write and
 * no secret to read here, so there is no authentication: bind it to loopback or a management
 * address (the relay's default is 127.0.0.1:9469; `:PORT` is every address).
 */
import type { Logger } from '../platform/logger.ts';
import { formatListenAddress, parseListenAddress, type ListenAddress } from './listen-address.ts';
import type { Readiness } from './agent-metrics.ts';

/** What /metrics serves: a prom-client Registry has both. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface HealthServerOptions {
  /** HOST:PORT, [IPv6]:PORT or :PORT (listen-address.ts); port 0 picks a free port (tests). */
  readonly listen: string | ListenAddress;
  readonly registry: MetricsSource;
  readonly live?: () => boolean;
  readonly ready: () => Readiness;
  readonly log: Pick<Logger, 'info' | 'warn'>;
}

export interface HealthServer {
  /** The address actually bound (the port is the real one when 0 was asked for). */
  readonly address: ListenAddress;
  /** http://host:port, for tests and logs. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Thrown when the address cannot be bound; the message names it and the cause. */
export class ListenError extends Error {}

export function startHealthServer(opts: HealthServerOptions): HealthServer {
  const address = typeof opts.listen === 'string' ? parsed(opts.listen) : opts.listen;
  const live = opts.live ?? (() => true);
  const fetch = async (req: Request): Promise<Response> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'only GET and HEAD\n', { allow: 'GET, HEAD' });
    switch (new URL(req.url).pathname) {
      case '/metrics':
        try {
          return new Response(await opts.registry.metrics(), { headers: { 'content-type': opts.registry.contentType } });
        } catch (e) {
          // A collector that fails (nft not answering) must not take the endpoint down.
          opts.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'collecting metrics failed');
          return text(500, `collecting metrics failed: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      case '/livez':
        return live() ? text(200, 'ok\n') : text(503, 'not live\n');
      case '/readyz': {
        const r = opts.ready();
        return r.ok ? text(200, 'ready\n') : text(503, `not ready: ${r.reason ?? 'unknown'}\n`);
      }
      default:
        return text(404, 'not found; try /metrics, /livez or /readyz\n');
    }
  };
  const server = bind(address, fetch);
  // The endpoint never keeps the process alive by itself: a command that fails after starting
  // it (a usage error, a held state lock) still exits.
  server.unref();
  const bound: ListenAddress = { host: address.host, port: server.port ?? address.port };
  const shown = formatListenAddress(bound);
  opts.log.info({ listen: shown }, 'metrics and health endpoint listening (/metrics, /livez, /readyz)');
  const urlHost = bound.host === undefined ? '127.0.0.1' : bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  return {
    address: bound,
    url: `http://${urlHost}:${bound.port}`,
    stop: async () => void (await server.stop(true)),
  };
}

function parsed(listen: string): ListenAddress {
  const r = parseListenAddress(listen);
  if (!r.ok) throw new ListenError(`metricsListen: ${r.error}`);
  if (!r.address) throw new ListenError('metricsListen is off: there is nothing to start');
  return r.address;
}

function bind(address: ListenAddress, fetch: (req: Request) => Promise<Response>): ReturnType<typeof Bun.serve> {
  const serve = (hostname: string) => Bun.serve({ hostname, port: address.port, fetch, reusePort: false, idleTimeout: 10 });
  try {
    // Every address: IPv6 and IPv4 both when the host has IPv6, IPv4 alone when it has not.
    if (address.host === undefined) {
      try {
        return serve('::');
      } catch (e) {
        if (code(e) === 'EADDRINUSE') throw e;
        return serve('0.0.0.0');
      }
    }
    return serve(address.host);
  } catch (e) {
    const why = code(e) === 'EADDRINUSE' ? 'the address is already in use (another outpost, or another exporter on this port?)'
      : code(e) === 'EADDRNOTAVAIL' ? 'this host has no such address'
      : code(e) === 'EACCES' ? 'permission denied'
      : e instanceof Error ? e.message : String(e);
    throw new ListenError(`metricsListen: cannot listen on ${formatListenAddress(address)}: ${why}`);
  }
}

function code(e: unknown): string | undefined {
  return e !== null && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } });
}
