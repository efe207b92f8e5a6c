/**
 * The agent's side of auto host endpoints, pure: the host's interfaces in, the report it
 * publishes out. Which addresses count: every address of an interface that is up, except those
 * that never identify a host from elsewhere (loopback, link-local, unspecified, multicast:
 * report-schema.ts) and those in the operator's `autoHostEndpointExclude` CIDRs (a VPN's or a
 * container bridge's addresses that policies should not see as the host's).
 *
 * The report is kept within the schema's bounds here, so the agent never publishes something
 * the relay refuses: beyond a bound, addresses are left out (in sorted order, so the same ones
 * every time) and the caller is told, to log it.
 */
import type { HostInterface } from '../calc/dispatch.ts';
import { parseCidr, parseIp, cidrContains, type Cidr } from '../net/cidr.ts';
import { qualifiedNameProblem, labelValueProblem } from '../model/common.ts';
import {
  MAX_ADDRESSES,
  MAX_ADDRESSES_PER_INTERFACE,
  MAX_INTERFACES,
  MAX_LABELS,
  REPORT_VERSION,
  RESERVED_LABEL_PREFIX,
  canonicalIp,
  uncountedReason,
  type InterfacesReport,
} from './report-schema.ts';

export interface ReportInput {
  readonly node: string;
  readonly interfaces: readonly HostInterface[];
  readonly labels: Readonly<Record<string, string>>;
  /** Parsed `autoHostEndpointExclude` CIDRs. */
  readonly exclude: readonly Cidr[];
}

export interface BuiltReport {
  readonly report: InterfacesReport;
  /** What was left out to stay within the report's bounds (empty normally). */
  readonly truncated: readonly string[];
}

/** True when `address` is one the report carries (given the operator's exclusions). */
function addressCounts(address: string, exclude: readonly Cidr[]): boolean {
  if (uncountedReason(address) !== undefined) return false;
  const ip = parseIp(address)!;
  const host: Cidr = { family: ip.family, addr: ip.addr, len: ip.family === 4 ? 32 : 128 };
  return !exclude.some((c) => cidrContains(c, host));
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function buildReport(input: ReportInput): BuiltReport {
  const truncated: string[] = [];
  const interfaces: { name: string; addresses: string[] }[] = [];
  let total = 0;
  // Node's getifaddrs lists an interface once per address family; merge them by name.
  const byName = new Map<string, Set<string>>();
  for (const i of input.interfaces) {
    const set = byName.get(i.name) ?? new Set<string>();
    for (const raw of i.addresses) {
      const a = canonicalIp(raw.split('%')[0] ?? raw);
      if (a !== undefined && addressCounts(a, input.exclude)) set.add(a);
    }
    byName.set(i.name, set);
  }
  for (const name of [...byName.keys()].sort(byText)) {
    let addresses = [...byName.get(name)!].sort(byText);
    if (addresses.length === 0) continue;
    if (interfaces.length >= MAX_INTERFACES) {
      truncated.push(`interface ${name}: over ${MAX_INTERFACES} interfaces`);
      continue;
    }
    if (addresses.length > MAX_ADDRESSES_PER_INTERFACE) {
      truncated.push(`interface ${name}: ${addresses.length - MAX_ADDRESSES_PER_INTERFACE} addresses over ${MAX_ADDRESSES_PER_INTERFACE}`);
      addresses = addresses.slice(0, MAX_ADDRESSES_PER_INTERFACE);
    }
    if (total + addresses.length > MAX_ADDRESSES) {
      const room = MAX_ADDRESSES - total;
      truncated.push(`interface ${name}: ${addresses.length - room} addresses over ${MAX_ADDRESSES} in all`);
      addresses = addresses.slice(0, room);
      if (addresses.length === 0) continue;
    }
    total += addresses.length;
    interfaces.push({ name, addresses });
  }
  return { report: { version: REPORT_VERSION, node: input.node, interfaces, labels: { ...input.labels } }, truncated };
}

/** The addresses a report names, each once, IPv4 first, in numeric order: the HEP's expectedIPs. */
export function reportedAddresses(report: InterfacesReport): string[] {
  const seen = new Map<string, { family: number; addr: bigint }>();
  for (const i of report.interfaces) for (const a of i.addresses) if (!seen.has(a)) seen.set(a, parseIp(a)!);
  return [...seen.entries()]
    .sort(([, x], [, y]) => (x.family !== y.family ? x.family - y.family : x.addr < y.addr ? -1 : x.addr > y.addr ? 1 : 0))
    .map(([a]) => a);
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/**
 * `autoHostEndpointLabels` as given: a map (YAML) or `key=value` items (flag, environment,
 * YAML list). Each problem names the item and the reason.
 */
export function parseLabelSetting(value: unknown): Parsed<Record<string, string>> {
  const pairs: [string, string][] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== 'string') return { ok: false, message: `each item must be a "key=value" string, got ${JSON.stringify(item)}` };
      const at = item.indexOf('=');
      if (at < 0) return { ok: false, message: `${JSON.stringify(item)} is not "key=value"` };
      pairs.push([item.slice(0, at).trim(), item.slice(at + 1).trim()]);
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, val] of Object.entries(value)) {
      // YAML turns `rack: 12` or `ssd: true` into a number or boolean; a label is their text.
      if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') return { ok: false, message: `label ${JSON.stringify(k)}: the value must be a string` };
      pairs.push([k, String(val)]);
    }
  } else return { ok: false, message: 'must be a map of labels, or a list of "key=value"' };
  const labels: Record<string, string> = {};
  for (const [k, val] of pairs) {
    const keyProblem = qualifiedNameProblem(k);
    if (keyProblem) return { ok: false, message: `label key ${JSON.stringify(k)}: ${keyProblem}` };
    if (k.startsWith(RESERVED_LABEL_PREFIX)) return { ok: false, message: `label key ${JSON.stringify(k)} is reserved (keys under ${RESERVED_LABEL_PREFIX} are set by Calico and outpost)` };
    const valueProblem = labelValueProblem(val);
    if (valueProblem) return { ok: false, message: `label ${JSON.stringify(k)}: value ${JSON.stringify(val)} ${valueProblem}` };
    if (k in labels && labels[k] !== val) return { ok: false, message: `label key ${JSON.stringify(k)} is given twice, with different values` };
    labels[k] = val;
  }
  if (Object.keys(labels).length > MAX_LABELS) return { ok: false, message: `at most ${MAX_LABELS} labels` };
  return { ok: true, value: labels };
}

/** `autoHostEndpointExclude`: CIDRs or plain addresses. */
export function parseExcludeSetting(items: readonly string[]): Parsed<Cidr[]> {
  const out: Cidr[] = [];
  for (const s of items) {
    const c = parseCidr(s.trim());
    if (!c) return { ok: false, message: `${JSON.stringify(s)} is not a CIDR (such as 10.8.0.0/16) or an IP address` };
    out.push(c);
  }
  return { ok: true, value: out };
}
