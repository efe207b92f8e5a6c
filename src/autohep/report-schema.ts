/**
 * The interfaces report: what an agent with `autoHostEndpoint` publishes (retained) on
 * `<prefix>/nodes/<node>/interfaces`, and what the relay turns into `<node>-auto-hep`.
 *
 *   {"version":1,"node":"gw","interfaces":[{"name":"eth0","addresses":["198.18.0.2"]}],"labels":{"site":"a"}}
 *
 * Only addresses that can identify the host count: never loopback, link-local, unspecified or
 * multicast (the agent leaves them out; a report carrying one is refused, not trimmed, so a
 * buggy or hostile sender is noticed). Every list is bounded: the relay reads one report per
 * node and a node must not be able to make it allocate without limit.
 */
import * as v from 'valibot';
import { qualifiedNameProblem, labelValueProblem, noArray } from '../model/common.ts';
import { nodeNameProblem } from '../protocol/topics.ts';
import { parseIp, parseCidr, cidrContains, formatIp, type Cidr } from '../net/cidr.ts';

export const REPORT_VERSION = 1;
/** Far above a real host's report (a few hundred bytes); checked before the JSON is parsed. */
export const MAX_REPORT_BYTES = 64 * 1024;
export const MAX_INTERFACES = 256;
export const MAX_ADDRESSES_PER_INTERFACE = 64;
/** All addresses together: they become the HEP's expectedIPs. */
export const MAX_ADDRESSES = 512;
export const MAX_LABELS = 64;
/** Labels under this prefix are Calico's (and outpost's created-by marker): an agent may not set them. */
export const RESERVED_LABEL_PREFIX = 'projectcalico.org/';

/** Addresses that never identify a host from elsewhere on the network. */
const NEVER_COUNTED: readonly { cidr: Cidr; why: string }[] = [
  ['127.0.0.0/8', 'a loopback address'],
  ['::1/128', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local address'],
  ['fe80::/10', 'a link-local address'],
  ['0.0.0.0/32', 'the unspecified address'],
  ['::/128', 'the unspecified address'],
  ['224.0.0.0/4', 'a multicast address'],
  ['ff00::/8', 'a multicast address'],
  // An IPv4-mapped IPv6 address is the IPv4 host again, in another spelling.
  ['::ffff:0:0/96', 'an IPv4-mapped IPv6 address'],
].map(([c, why]) => ({ cidr: parseCidr(c!)!, why: why! }));

/** Why `address` never counts as one of the host's addresses, or undefined when it may. */
export function uncountedReason(address: string): string | undefined {
  const ip = parseIp(address);
  if (!ip) return 'not an IP address';
  const host: Cidr = { family: ip.family, addr: ip.addr, len: ip.family === 4 ? 32 : 128 };
  return NEVER_COUNTED.find((n) => cidrContains(n.cidr, host))?.why;
}

/** The canonical spelling of an IP address (as Go prints it), or undefined when it is not one. */
export function canonicalIp(address: string): string | undefined {
  const ip = parseIp(address);
  return ip ? formatIp(ip.family, ip.addr) : undefined;
}

const show = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

// Linux's own rule (dev_valid_name): 1-15 bytes, not "." or "..", no "/", ":" or whitespace.
const IFACE_RE = /^[^/:\s\u0000-\u001f\u007f]{1,15}$/;

const InterfaceNameSchema = v.pipe(
  v.string('must be a string'),
  v.check((s) => IFACE_RE.test(s) && s !== '.' && s !== '..' && new TextEncoder().encode(s).length <= 15, (i) => `${show(String(i.input))} is not an interface name (1-15 characters, no "/", ":" or spaces)`),
);

const AddressSchema = v.pipe(
  v.string('must be a string'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const a = dataset.value;
    const why = uncountedReason(a);
    if (why === 'not an IP address') addIssue({ message: `${show(a)} is not an IP address (a plain address, no prefix length)` });
    else if (why !== undefined) addIssue({ message: `${show(a)} is ${why}; those are never reported` });
    else if (canonicalIp(a) !== a) addIssue({ message: `${show(a)} is not in canonical form (expected ${show(canonicalIp(a)!)})` });
  }),
);

/** The message for an object's own issues: an unknown key, a missing key, or not an object at all. */
const objectIssue = (what: string) => (i: v.BaseIssue<unknown>) =>
  i.expected === 'never' ? 'unknown field' : i.received === 'undefined' && (i.path?.length ?? 0) > 0 ? 'is required' : `must be ${what}`;

const InterfaceSchema = v.strictObject(
  {
    name: InterfaceNameSchema,
    addresses: v.pipe(
      v.array(AddressSchema, 'must be a list of addresses'),
      v.minLength(1, 'an interface is reported only with at least one address'),
      v.maxLength(MAX_ADDRESSES_PER_INTERFACE, `at most ${MAX_ADDRESSES_PER_INTERFACE} addresses per interface`),
    ),
  },
  objectIssue('an object with name and addresses'),
);

export const LabelsSchema = v.pipe(
  noArray(v.record(
    v.pipe(
      v.string(),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const k = dataset.value;
        const problem = qualifiedNameProblem(k);
        if (problem) addIssue({ message: `label key ${show(k)}: ${problem}` });
        else if (k.startsWith(RESERVED_LABEL_PREFIX)) addIssue({ message: `label key ${show(k)} is reserved (keys under ${RESERVED_LABEL_PREFIX} are set by Calico and outpost, not by a host)` });
      }),
    ),
    v.pipe(
      v.string('a label value must be a string'),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const problem = labelValueProblem(dataset.value);
        if (problem) addIssue({ message: `label value ${show(dataset.value)}: ${problem}` });
      }),
    ),
    'must be a map of label keys to values',
  ), 'labels', 'a map of label keys to values'),
  v.check((m) => Object.keys(m).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`),
);

export const InterfacesReportSchema = v.pipe(
  noArray(v.strictObject(
    {
      version: v.literal(REPORT_VERSION, `must be ${REPORT_VERSION}`),
      node: v.pipe(
        v.string('must be a string'),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const p = nodeNameProblem(dataset.value);
          if (p) addIssue({ message: p });
        }),
      ),
      interfaces: v.pipe(v.array(noArray(InterfaceSchema, 'each interface', 'an object with name and addresses'), 'must be a list'), v.maxLength(MAX_INTERFACES, `at most ${MAX_INTERFACES} interfaces`)),
      labels: LabelsSchema,
    },
    objectIssue('an object with version, node, interfaces and labels'),
  ), 'the report', 'an object with version, node, interfaces and labels'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const r = dataset.value;
    const names = new Set<string>();
    let total = 0;
    for (const i of r.interfaces) {
      if (names.has(i.name)) addIssue({ message: `interfaces: ${show(i.name)} is listed twice` });
      names.add(i.name);
      total += i.addresses.length;
    }
    if (total > MAX_ADDRESSES) addIssue({ message: `interfaces: ${total} addresses in all, at most ${MAX_ADDRESSES}` });
  }),
);

export type InterfacesReport = v.InferOutput<typeof InterfacesReportSchema>;
export type ReportedInterface = InterfacesReport['interfaces'][number];

export type DecodedReport = { readonly ok: true; readonly report: InterfacesReport } | { readonly ok: false; readonly message: string };

function pathOf(issue: v.BaseIssue<unknown>): string {
  return (issue.path ?? []).map((p) => (typeof p.key === 'number' ? `[${p.key}]` : `.${String(p.key)}`)).join('').replace(/^\./, '');
}

/** Validates an already-parsed value; the message names the field and the reason. */
export function validateReport(value: unknown): DecodedReport {
  const r = v.safeParse(InterfacesReportSchema, value);
  if (r.success) return { ok: true, report: r.output };
  const issue = r.issues[0];
  const path = pathOf(issue);
  return { ok: false, message: `${path || 'report'}: ${issue.message}` };
}

/**
 * A payload as received: size first (before anything is allocated for it), then UTF-8, JSON
 * and the schema. Never throws.
 */
export function decodeReport(payload: Uint8Array): DecodedReport {
  if (payload.length > MAX_REPORT_BYTES) return { ok: false, message: `report is ${payload.length} bytes, over the limit of ${MAX_REPORT_BYTES}` };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (e) {
    return { ok: false, message: `report is not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  return validateReport(value);
}

/**
 * One byte form per content: interfaces by name, addresses sorted, label keys sorted. The
 * agent compares these bytes to decide whether to publish again.
 */
export function encodeReport(r: InterfacesReport): string {
  const interfaces = [...r.interfaces]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((i) => ({ name: i.name, addresses: [...i.addresses].sort() }));
  const labels = Object.fromEntries(Object.entries(r.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({ version: r.version, node: r.node, interfaces, labels });
}
