// The match values a rule is built from: numorstring Protocol and Port (kept in API
// form: protocol "TCP" or 6, port 80 / "80:90" / "http"), nets, ICMP, HTTP, service and
// service-account matches, each with its field-level rules
import * as v from 'valibot';
import {
  boundedArray,
  intInRange,
  isSubdomain,
  messageFor,
  numberOrString,
  obj,
  portNameProblem,
  selectorProblem,
  selectorSchema,
  show,
  stringSchema,
  uniqueList,
} from './common.ts';
import { formatNetwork, isStrictlyMasked, parseCIDROrIP } from '../net/ip.ts';
import { clip } from './limits.ts';

export const ACTIONS = ['Allow', 'Deny', 'Log', 'Pass'] as const;
export type Action = (typeof ACTIONS)[number];
export const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

// ---- Protocol ------------------------------------------------------------------

export function isValidProtocol(p: unknown): boolean {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 1 && p <= 255;
  return typeof p === 'string' && (PROTOCOL_NAMES as readonly string[]).includes(p);
}

/** Protocols that carry ports (numorstring Protocol.SupportsPorts). */
export function protocolSupportsPorts(p: string | number): boolean {
  return p === 'TCP' || p === 'UDP' || p === 'SCTP' || p === 6 || p === 17 || p === 132;
}

export const ProtocolSchema = v.pipe(
  numberOrString(messageFor('protocol must be a name or a number')),
  // A string of digits is a number in the API (Uint8OrString), e.g. "6" is stored as 6.
  v.transform(
    (p) => (typeof p === 'string' && /^\d+$/.test(p) && Number(p) <= 255 ? Number(p) : p) as ProtocolName | number,
  ),
  v.check(
    (p: ProtocolName | number) => isValidProtocol(p),
    (i) =>
      `invalid protocol ${show(i.input)}: must be one of ${PROTOCOL_NAMES.join(', ')} (exact case) or a number from 1 to 255`,
  ),
);
export type Protocol = v.InferOutput<typeof ProtocolSchema>;

// ---- Port ----------------------------------------------------------------------

const RANGE_RE = /^(\d+):(\d+)$/;
const NAMED_PORT_RE = /^[a-zA-Z0-9_.-]{1,128}$/;

export function portProblem(p: number | string): string | undefined {
  if (typeof p === 'number') {
    return Number.isInteger(p) && p >= 1 && p <= 65535 ? undefined : `port ${p} must be an integer from 1 to 65535`;
  }
  const range = RANGE_RE.exec(p);
  if (range) {
    const min = Number(range[1]);
    const max = Number(range[2]);
    if (min < 1 || max < 1 || min > 65535 || max > 65535) return `port range ${clip(p)} must have both ends from 1 to 65535`;
    return min > max ? `port range ${clip(p)} has min > max` : undefined;
  }
  const nameProblem = NAMED_PORT_RE.test(p) ? portNameProblem(p) : 'is not a number, a "min:max" range or a port name';
  return nameProblem ? `invalid port ${show(p)}: ${nameProblem}` : undefined;
}

export const isNamedPort = (p: number | string): boolean => typeof p === 'string' && !RANGE_RE.test(p);

export const PortSchema = v.pipe(
  numberOrString(messageFor('port must be a number, "min:max" or a port name')),
  // "80" unmarshals to the single port 80 in Calico's numorstring.Port.
  v.transform((p) => (typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : p)),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = portProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);
export type Port = v.InferOutput<typeof PortSchema>;

export const portList = (what: string) =>
  boundedArray(PortSchema, 50, (n) => `${what} has ${n} entries; at most 50 are allowed`, `${what} must be a list`);

// ---- Nets ----------------------------------------------------------------------

/** Rule nets: a strictly masked CIDR; a bare address is refused (the v3 validator parses a CIDR). */
export function ruleNetProblem(s: string, negated: boolean): string | undefined {
  const c = parseCIDROrIP(s);
  if (!c) return `invalid CIDR or IP address ${show(s)}`;
  if (!s.includes('/')) {
    return `${s} must be a CIDR with a prefix length, e.g. ${s}/${c.version === 4 ? 32 : 128}`;
  }
  if (!isStrictlyMasked(c)) return `${s} is not a strictly masked CIDR (did you mean ${formatNetwork(c)}?)`;
  if (negated && c.prefix === 0) return `notNets must not contain the catch-all ${s}: it would match no traffic`;
  return undefined;
}

export const netList = (what: string, negated: boolean) =>
  boundedArray(
    v.pipe(
      stringSchema(`${what} entry`),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const problem = ruleNetProblem(dataset.value, negated);
        if (problem) addIssue({ message: problem });
      }),
    ),
    256,
    (n) => `${what} has ${n} entries; at most 256 are allowed`,
    `${what} must be a list`,
  );

// ---- Small match structs -------------------------------------------------------

export const ICMPFieldsSchema = v.pipe(
  obj(
    {
      type: v.exactOptional(intInRange('ICMP type', 0, 254)),
      code: v.exactOptional(intInRange('ICMP code', 0, 255)),
    },
    'an ICMP match',
  ),
  v.forward(
    v.check((f) => f.code === undefined || f.type !== undefined, 'ICMP code requires an ICMP type'),
    ['code'],
  ),
);
export type ICMPFields = v.InferOutput<typeof ICMPFieldsSchema>;

const HTTPPathSchema = v.pipe(
  obj(
    {
      exact: v.exactOptional(v.pipe(stringSchema('exact'), v.maxLength(1024))),
      prefix: v.exactOptional(v.pipe(stringSchema('prefix'), v.maxLength(1024))),
    },
    'an HTTP path match',
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const { exact = '', prefix = '' } = dataset.value;
    if (exact !== '' && prefix !== '')
      return addIssue({ message: 'an HTTP path match may set exact or prefix, not both' });
    const path = exact || prefix;
    if (path === '') return addIssue({ message: 'an HTTP path match must set exact or prefix' });
    if (!path.startsWith('/') || /[? #]/.test(path)) {
      addIssue({ message: `invalid HTTP path ${show(path)}: must start with "/" and not contain "?", "#" or spaces` });
    }
  }),
);

export const HTTPMatchSchema = obj(
  {
    methods: v.exactOptional(uniqueList(stringSchema('HTTP method'), 'http.methods', 20)),
    paths: v.exactOptional(v.pipe(v.array(HTTPPathSchema), v.maxLength(20, 'at most 20 HTTP paths are allowed'))),
  },
  'http',
);
export type HTTPMatch = v.InferOutput<typeof HTTPMatchSchema>;

const serviceRefName = (what: string) =>
  v.pipe(
    stringSchema(what),
    v.check((s) => s === '' || isSubdomain(s), messageFor(`${what} must be a DNS-1123 subdomain`)),
  );

export const ServiceMatchSchema = obj(
  {
    name: v.exactOptional(serviceRefName('service name')),
    namespace: v.exactOptional(serviceRefName('service namespace')),
  },
  'services',
);

export const ServiceAccountMatchSchema = obj(
  {
    names: v.exactOptional(uniqueList(stringSchema('service account name'), 'serviceAccounts.names')),
    selector: v.exactOptional(selectorSchema('serviceAccounts.selector', false)),
  },
  'serviceAccounts',
);

export const namespaceSelectorSchema = v.pipe(
  stringSchema('namespaceSelector'),
  v.maxLength(1024, 'namespaceSelector must be at most 1024 characters'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const s = dataset.value;
    if (s.includes('global(')) {
      // global() is allowed only on its own.
      if (s.replace(/\s+/g, '') !== 'global()')
        addIssue({ message: `global() cannot be combined with other selectors (got ${show(s)})` });
      return;
    }
    const problem = selectorProblem(s);
    if (problem) addIssue({ message: problem });
  }),
);
