/**
 * The `metricsListen` setting: where the health and metrics endpoint listens.
 *
 *   127.0.0.1:9469   one IPv4 address
 *   [::1]:9469       one IPv6 address (in brackets)
 *   :9469            every address of the host (IPv6 and IPv4): anyone who can reach the
 *                    port can read the metrics, so prefer a loopback or management address
 *   off              no endpoint (also: an empty value)
 * Port 0 takes any free port (the address bound is logged): for tests.
 */
import * as v from 'valibot';
import { isIP } from 'node:net';

export interface ListenAddress {
  /** undefined: every address. */
  readonly host: string | undefined;
  readonly port: number;
}

export type ListenParse = { readonly ok: true; readonly address: ListenAddress | undefined } | { readonly ok: false; readonly error: string };

const EXAMPLE = 'use HOST:PORT such as 127.0.0.1:9469, [::1]:9469, :9469 (every address) or off';

/** Parses a listen address; `address` undefined means off. Errors are sentences naming the value. */
export function parseListenAddress(text: string): ListenParse {
  const s = text.trim();
  if (s === '' || s === 'off') return { ok: true, address: undefined };
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(s);
  if (!m) return { ok: false, error: `"${text}" is not a listen address; ${EXAMPLE}` };
  const bracketed = m[1];
  const host = bracketed ?? m[2] ?? '';
  const portText = m[3] ?? '';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return { ok: false, error: `"${text}": the port must be a number from 0 to 65535 (0: any free port, logged); ${EXAMPLE}` };
  if (bracketed !== undefined && isIP(bracketed) !== 6) return { ok: false, error: `"${text}": ${bracketed === '' ? 'nothing' : `"${bracketed}"`} in brackets is not an IPv6 address` };
  if (bracketed === undefined && host !== '' && isIP(host) !== 4) return { ok: false, error: `"${text}": "${host}" is not an IPv4 address (write IPv6 addresses in brackets, e.g. [::1]:9469; host names are not accepted)` };
  return { ok: true, address: { host: host === '' ? undefined : host, port: Number(portText) } };
}

/** HOST:PORT as an operator writes it, for messages. */
export function formatListenAddress(a: ListenAddress): string {
  if (a.host === undefined) return `:${a.port}`;
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The setting's schema: the text as given (validated); parse it again with parseListenAddress where it is used. */
export const MetricsListenSchema = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const r = parseListenAddress(dataset.value);
    if (!r.ok) addIssue({ message: r.error });
  }),
);

export const DEFAULT_RELAY_METRICS_LISTEN = '127.0.0.1:9469';
