/**
 * The packet fields as people type them ("443/tcp", "icmp", "8/0") → numbers, with errors that
 * say which field and why. Shared by `outpost explain` flags and tests.yaml.
 */
import { PROTOCOL_NUMBERS } from '../calc/protocol.ts';
import { parseIp } from '../net/cidr.ts';

// The API's protocol names (calc/protocol.ts), as people type them: lower case.
const PROTOCOLS: Record<string, number> = Object.fromEntries(Object.entries(PROTOCOL_NUMBERS).map(([name, n]) => [name.toLowerCase(), n]));
export const PROTOCOL_NAMES = Object.keys(PROTOCOLS);

/** "tcp", "UDP", "6" → protocol number, or an error. */
export function parseProtocol(text: string, field: string): number | string {
  const t = text.trim().toLowerCase();
  if (t in PROTOCOLS) return PROTOCOLS[t]!;
  if (/^[0-9]{1,3}$/.test(t) && Number(t) >= 1 && Number(t) <= 255) return Number(t);
  return `${field}: ${JSON.stringify(text)} is not a protocol (use ${PROTOCOL_NAMES.join(', ')} or a number 1-255)`;
}

export function parsePortNumber(text: string, field: string): number | string {
  const t = text.trim();
  if (/^[0-9]{1,5}$/.test(t) && Number(t) <= 65535) return Number(t);
  return `${field}: ${JSON.stringify(text)} is not a port (0-65535)`;
}

/** "443/tcp" → port and protocol; "443" → port only (the protocol comes from elsewhere). */
export function parsePortSpec(text: string, field: string): { port: number; protocol?: number } | string {
  const [p = '', proto, extra] = text.split('/');
  if (extra !== undefined) return `${field}: ${JSON.stringify(text)} is not PORT or PORT/PROTOCOL (e.g. 443/tcp)`;
  const port = parsePortNumber(p, field);
  if (typeof port === 'string') return port;
  if (proto === undefined) return { port };
  const protocol = parseProtocol(proto, field);
  if (typeof protocol === 'string') return protocol;
  if (protocol !== 6 && protocol !== 17 && protocol !== 132 && protocol !== 136) return `${field}: ${proto} has no ports (use tcp, udp or sctp)`;
  return { port, protocol };
}

/** "8" or "8/0" → ICMP type and optional code. */
export function parseIcmpSpec(text: string, field: string): { type: number; code?: number } | string {
  const [t = '', c, extra] = text.split('/');
  const num = (s: string, max: number) => (/^[0-9]{1,3}$/.test(s.trim()) && Number(s) <= max ? Number(s) : undefined);
  const type = num(t, 255);
  const code = c === undefined ? undefined : num(c, 255);
  if (extra !== undefined || type === undefined || (c !== undefined && code === undefined)) return `${field}: ${JSON.stringify(text)} is not TYPE or TYPE/CODE (0-255, e.g. 8 or 3/1)`;
  return code === undefined ? { type } : { type, code };
}

export function checkAddress(text: string, field: string): string | undefined {
  return parseIp(text.trim()) ? undefined : `${field}: ${JSON.stringify(text)} is not an IP address`;
}

/**
 * A name the kernel would give an interface (dev_valid_name): 1 to 15 bytes, not "." or "..", no
 * "/", ":" or whitespace. Anything else is a typo no host can have; other odd names stay accepted.
 */
export function checkIfaceName(text: string, field: string): string | undefined {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes === 0 || bytes > 15) return `${field}: ${JSON.stringify(text)} is not an interface name (1 to 15 bytes)`;
  if (text === '.' || text === '..' || /[/: \t\n\v\f\r\0]/.test(text)) return `${field}: ${JSON.stringify(text)} is not an interface name (no "/", ":", spaces; not "." or "..")`;
  return undefined;
}

/** The same address however written (fd00::1, fd00:0::1, FD00::1), as the agent's dispatch compares them. */
export function sameAddress(a: string, b: string): boolean {
  const x = parseIp(a.trim());
  const y = parseIp(b.trim());
  return x !== null && y !== null && x.family === y.family && x.addr === y.addr;
}

/** 6 → "tcp"; a number without a name stays a number. */
export function protocolName(n: number): string {
  return Object.entries(PROTOCOLS).find(([, v]) => v === n)?.[0] ?? String(n);
}
