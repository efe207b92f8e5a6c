// Felix failsafe ports: the built-in defaults, the "proto:[cidr:]port" string
// format used in config files and the environment, and the conversion Felix applies
// to the FelixConfiguration list form.
import * as v from 'valibot';
import { intInRange } from './common.ts';
import { formatNetwork, parseCIDROrIP } from '../net/ip.ts';

export const FailsafeRuleSchema = v.object({
  protocol: v.picklist(['tcp', 'udp']),
  port: intInRange('port', 0, 65535),
  /** Source net for inbound entries, destination net for outbound; canonical masked form. */
  net: v.exactOptional(v.string()),
});
export type FailsafeRule = v.InferOutput<typeof FailsafeRuleSchema>;

const rules = (spec: string): readonly FailsafeRule[] =>
  Object.freeze(
    spec.split(',').map((entry) => {
      const [protocol, port] = entry.split(':');
      return Object.freeze({ protocol: protocol === 'udp' ? 'udp' : 'tcp', port: Number(port) });
    }),
  );

export const FELIX_DEFAULT_FAILSAFE_INBOUND = rules(
  'tcp:22,udp:68,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667',
);
export const FELIX_DEFAULT_FAILSAFE_OUTBOUND = rules(
  'udp:53,udp:67,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667',
);

/** Felix's net handling: CIDR or IP, stored as the masked network ("10.0.0.1" → "10.0.0.1/32"). */
function normaliseNet(net: string): string | undefined {
  const c = parseCIDROrIP(net);
  return c ? formatNetwork(c) : undefined;
}

function parsePort(text: string): number | undefined {
  // strconv.Atoi accepts an optional sign.
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 0 && n <= 65535 ? n : undefined;
}

/**
 * Parses Felix's PortListParam format: comma-separated `<port>`, `<proto>:<port>` or
 * `<proto>:<net>:<port>`, IPv6 nets in brackets; `none` (any case) is the empty list.
 */
export function parseFailsafeString(s: string): { ok: true; rules: FailsafeRule[] } | { ok: false; error: string } {
  if (s.toLowerCase() === 'none') return { ok: true, rules: [] };
  const out: FailsafeRule[] = [];
  for (const raw of s.split(',')) {
    let entry = raw.replace(/^ +| +$/g, '');
    if (entry === '') continue;
    let net = '';
    let protocol = 'tcp';
    if (entry.includes('[') && entry.includes(']')) {
      const start = entry.indexOf('[');
      const end = entry.indexOf(']:');
      if (end < start)
        return {
          ok: false,
          error: `invalid failsafe entry ${JSON.stringify(raw)}: an IPv6 net must be written [net]:port`,
        };
      net = entry.slice(start + 1, end);
      entry = entry.slice(0, start) + entry.slice(end + 2);
    }
    const parts = entry.split(':');
    if (parts.length > 3) {
      return {
        ok: false,
        error: `invalid failsafe entry ${JSON.stringify(raw)}: use <protocol>:<net>:<port>, <protocol>:<port> or <port>`,
      };
    }
    let portText = entry;
    if (parts.length === 3) [protocol = '', net = '', portText = ''] = parts;
    if (parts.length === 2) [protocol = '', portText = ''] = parts;
    protocol = protocol.toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp') {
      return {
        ok: false,
        error: `invalid failsafe entry ${JSON.stringify(raw)}: unknown protocol ${JSON.stringify(protocol)} (tcp or udp)`,
      };
    }
    const port = parsePort(portText);
    if (port === undefined) {
      return {
        ok: false,
        error: `invalid failsafe entry ${JSON.stringify(raw)}: port must be an integer from 0 to 65535`,
      };
    }
    const rule: FailsafeRule = { protocol, port };
    if (net !== '') {
      const normalised = normaliseNet(net);
      if (normalised === undefined)
        return {
          ok: false,
          error: `invalid failsafe entry ${JSON.stringify(raw)}: invalid CIDR or IP ${JSON.stringify(net)}`,
        };
      rule.net = normalised;
    }
    out.push(rule);
  }
  return { ok: true, rules: out };
}

/**
 * FelixConfiguration's `{protocol, port, net}` list as Felix ends up using it. Entries
 * Felix's parser would reject (SCTP passes API validation, for one) are skipped with
 * a warning rather than failing the whole list.
 */
export function failsafeFromFelixConfig(list: { protocol: string; port: number; net?: string }[]): {
  rules: FailsafeRule[];
  warnings: string[];
} {
  const out: FailsafeRule[] = [];
  const warnings: string[] = [];
  list.forEach((entry, i) => {
    const label = `failsafe entry ${i} (${entry.protocol}:${entry.net ? `${entry.net}:` : ''}${entry.port})`;
    const protocol = entry.protocol.toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp') {
      warnings.push(`${label}: Felix only supports tcp and udp failsafe ports; entry skipped`);
      return;
    }
    if (!Number.isInteger(entry.port) || entry.port < 0 || entry.port > 65535) {
      warnings.push(`${label}: port must be an integer from 0 to 65535; entry skipped`);
      return;
    }
    const rule: FailsafeRule = { protocol, port: entry.port };
    if (entry.net) {
      const net = normaliseNet(entry.net);
      if (net === undefined) {
        warnings.push(`${label}: invalid CIDR or IP ${JSON.stringify(entry.net)}; entry skipped`);
        return;
      }
      rule.net = net;
    }
    out.push(rule);
  });
  return { rules: out, warnings };
}
