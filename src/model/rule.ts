// Policy Rule, EntityRule, ICMPFields, HTTPMatch and the numorstring Protocol/Port
// values, with the field and cross-field rules of §2.3. Values stay in their API form
// (protocol "TCP" or 6, port 80 / "80:90" / "http"); normalisation happens later.
import * as v from 'valibot';
import {
  addAt,
  enumSchema,
  intInRange,
  objectMessage,
  isSubdomain,
  messageFor,
  portNameProblem,
  selectorProblem,
  selectorSchema,
  show,
  stringSchema,
  uniqueList,
  annotationsSchema,
} from './common.ts';
import { formatNetwork, isStrictlyMasked, parseCIDROrIP, type IPVersion } from './ip.ts';

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
  v.union([v.number(), v.string()], messageFor('protocol must be a name or a number')),
  // A string of digits is a number in the API (Uint8OrString), e.g. "6" is stored as 6.
  v.transform((p) => (typeof p === 'string' && /^\d+$/.test(p) && Number(p) <= 255 ? Number(p) : p) as ProtocolName | number),
  v.check(
    (p: ProtocolName | number) => isValidProtocol(p),
    (i) => `invalid protocol ${show(i.input)}: must be one of ${PROTOCOL_NAMES.join(', ')} (exact case) or a number from 1 to 255`,
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
    if (min < 1 || max < 1 || min > 65535 || max > 65535) return `port range ${p} must have both ends from 1 to 65535`;
    return min > max ? `port range ${p} has min > max` : undefined;
  }
  const nameProblem = NAMED_PORT_RE.test(p) ? portNameProblem(p) : 'is not a number, a "min:max" range or a port name';
  return nameProblem ? `invalid port ${show(p)}: ${nameProblem}` : undefined;
}

export const isNamedPort = (p: number | string): boolean => typeof p === 'string' && !RANGE_RE.test(p);

export const PortSchema = v.pipe(
  v.union([v.number(), v.string()], messageFor('port must be a number, "min:max" or a port name')),
  // "80" unmarshals to the single port 80 in Calico's numorstring.Port.
  v.transform((p) => (typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : p)),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = portProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);
export type Port = v.InferOutput<typeof PortSchema>;

const portList = (what: string) =>
  v.pipe(
    v.array(PortSchema, messageFor(`${what} must be a list`)),
    v.maxLength(50, (i) => `${what} has ${(i.input as unknown[]).length} entries; at most 50 are allowed`),
  );

// ---- Nets ----------------------------------------------------------------------

/** Rule nets: strictly masked CIDR or a bare address. */
export function ruleNetProblem(s: string, negated: boolean): string | undefined {
  const c = parseCIDROrIP(s);
  if (!c) return `invalid CIDR or IP address ${show(s)}`;
  if (!isStrictlyMasked(c)) return `${s} is not a strictly masked CIDR (did you mean ${formatNetwork(c)}?)`;
  if (negated && c.prefix === 0) return `notNets must not contain the catch-all ${s}: it would match no traffic`;
  return undefined;
}

const netList = (what: string, negated: boolean) =>
  v.pipe(
    v.array(
      v.pipe(
        stringSchema(`${what} entry`),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const problem = ruleNetProblem(dataset.value, negated);
          if (problem) addIssue({ message: problem });
        }),
      ),
      messageFor(`${what} must be a list`),
    ),
    v.maxLength(256, (i) => `${what} has ${(i.input as unknown[]).length} entries; at most 256 are allowed`),
  );

// ---- Small match structs -------------------------------------------------------

export const ICMPFieldsSchema = v.pipe(
  v.object(
    {
      type: v.exactOptional(intInRange('ICMP type', 0, 254)),
      code: v.exactOptional(intInRange('ICMP code', 0, 255)),
    },
    objectMessage('an ICMP match'),
  ),
  v.forward(
    v.check((f) => f.code === undefined || f.type !== undefined, 'ICMP code requires an ICMP type'),
    ['code'],
  ),
);
export type ICMPFields = v.InferOutput<typeof ICMPFieldsSchema>;

const HTTPPathSchema = v.pipe(
  v.object({
    exact: v.exactOptional(v.pipe(stringSchema('exact'), v.maxLength(1024))),
    prefix: v.exactOptional(v.pipe(stringSchema('prefix'), v.maxLength(1024))),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const { exact = '', prefix = '' } = dataset.value;
    if (exact !== '' && prefix !== '') return addIssue({ message: 'an HTTP path match may set exact or prefix, not both' });
    const path = exact || prefix;
    if (path === '') return addIssue({ message: 'an HTTP path match must set exact or prefix' });
    if (!path.startsWith('/') || /[? #]/.test(path)) {
      addIssue({ message: `invalid HTTP path ${show(path)}: must start with "/" and not contain "?", "#" or spaces` });
    }
  }),
);

export const HTTPMatchSchema = v.object({
  methods: v.exactOptional(uniqueList(stringSchema('HTTP method'), 'http.methods', 20)),
  paths: v.exactOptional(v.pipe(v.array(HTTPPathSchema), v.maxLength(20, 'at most 20 HTTP paths are allowed'))),
});
export type HTTPMatch = v.InferOutput<typeof HTTPMatchSchema>;

const serviceRefName = (what: string) =>
  v.pipe(stringSchema(what), v.check((s) => s === '' || isSubdomain(s), messageFor(`${what} must be a DNS-1123 subdomain`)));

export const ServiceMatchSchema = v.object({
  name: v.exactOptional(serviceRefName('service name')),
  namespace: v.exactOptional(serviceRefName('service namespace')),
});

export const ServiceAccountMatchSchema = v.object({
  names: v.exactOptional(uniqueList(stringSchema('service account name'), 'serviceAccounts.names')),
  selector: v.exactOptional(selectorSchema('serviceAccounts.selector', false)),
});

const namespaceSelectorSchema = v.pipe(
  stringSchema('namespaceSelector'),
  v.maxLength(1024, 'namespaceSelector must be at most 1024 characters'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const s = dataset.value;
    if (s.includes('global(')) {
      // global() is allowed only on its own.
      if (s.replace(/\s+/g, '') !== 'global()') addIssue({ message: `global() cannot be combined with other selectors (got ${show(s)})` });
      return;
    }
    const problem = selectorProblem(s);
    if (problem) addIssue({ message: problem });
  }),
);

// ---- EntityRule ----------------------------------------------------------------

export const EntityRuleSchema = v.pipe(
  v.object(
    {
      nets: v.exactOptional(netList('nets', false)),
      notNets: v.exactOptional(netList('notNets', true)),
      selector: v.exactOptional(selectorSchema('selector', true)),
      notSelector: v.exactOptional(selectorSchema('notSelector', false)),
      namespaceSelector: v.exactOptional(namespaceSelectorSchema),
      ports: v.exactOptional(portList('ports')),
      notPorts: v.exactOptional(portList('notPorts')),
      serviceAccounts: v.exactOptional(ServiceAccountMatchSchema),
      services: v.exactOptional(ServiceMatchSchema),
    },
    objectMessage('source/destination'),
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || dataset.value.services === undefined) return;
    const e = dataset.value;
    if (!e.services?.name) addAt(addIssue, e, ['services', 'name'], 'services must name a service');
    const clashes = (['selector', 'notSelector', 'namespaceSelector', 'nets', 'notNets'] as const).filter(
      (k) => (e[k]?.length ?? 0) > 0,
    );
    if (e.serviceAccounts !== undefined) clashes.push('serviceAccounts' as (typeof clashes)[number]);
    for (const k of clashes) addAt(addIssue, e, [k], `${k} cannot be combined with services in the same entity rule`);
  }),
);
export type EntityRule = v.InferOutput<typeof EntityRuleSchema>;

// ---- Rule ----------------------------------------------------------------------

type Side = 'source' | 'destination';
const SIDES: readonly Side[] = ['source', 'destination'];
const PORT_FIELDS = ['ports', 'notPorts'] as const;
const NET_FIELDS = ['nets', 'notNets'] as const;

const isICMP = (p: Protocol | undefined) => p === 'ICMP' || p === 1;
const isICMPv6 = (p: Protocol | undefined) => p === 'ICMPv6' || p === 58;

export const RuleSchema = v.pipe(
  v.object(
    {
      action: enumSchema(ACTIONS, 'action'),
      ipVersion: v.exactOptional(enumSchema([4, 6], 'ipVersion')),
      protocol: v.exactOptional(ProtocolSchema),
      notProtocol: v.exactOptional(ProtocolSchema),
      icmp: v.exactOptional(ICMPFieldsSchema),
      notICMP: v.exactOptional(ICMPFieldsSchema),
      source: v.exactOptional(EntityRuleSchema),
      destination: v.exactOptional(EntityRuleSchema),
      http: v.exactOptional(HTTPMatchSchema),
      metadata: v.exactOptional(v.object({ annotations: v.exactOptional(annotationsSchema) })),
    },
    objectMessage('a rule'),
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const r = dataset.value;
    const at = (path: (string | number)[], message: string) => addAt(addIssue, r, path, message);

    if (r.http !== undefined) {
      if (r.action !== 'Allow') at(['http'], `an HTTP match is only allowed on Allow rules (action is ${r.action})`);
      if (r.protocol !== undefined && r.protocol !== 'TCP' && r.protocol !== 6) {
        at(['http'], `an HTTP match requires protocol TCP or no protocol (protocol is ${show(r.protocol)})`);
      }
    }
    if (r.destination?.services !== undefined) {
      for (const f of PORT_FIELDS) {
        if ((r.destination[f]?.length ?? 0) > 0) at(['destination', f], `destination ${f} cannot be combined with destination services`);
      }
    }

    // ICMP matches and IP version agreement.
    if (r.icmp !== undefined && !isICMP(r.protocol) && !isICMPv6(r.protocol)) {
      at(['icmp'], 'an icmp match requires protocol ICMP, ICMPv6, 1 or 58');
    }
    for (const f of ['protocol', 'notProtocol'] as const) {
      if (r.ipVersion === 6 && isICMP(r[f])) at([f], `${f} ${show(r[f])} requires ipVersion 4 (ipVersion is 6)`);
      if (r.ipVersion === 4 && isICMPv6(r[f])) at([f], `${f} ${show(r[f])} requires ipVersion 6 (ipVersion is 4)`);
    }

    // Ports need a protocol that has ports (HEAD semantics: named-only lists may omit it).
    for (const side of SIDES) {
      for (const f of PORT_FIELDS) {
        const ports = r[side]?.[f] ?? [];
        if (ports.length === 0) continue;
        if (r.protocol === undefined) {
          const numeric = ports.filter((p) => !isNamedPort(p));
          if (numeric.length > 0) {
            at([side, f], `numeric ports and port ranges require protocol TCP, UDP or SCTP (found ${numeric.join(', ')})`);
          }
        } else if (isValidProtocol(r.protocol) && !protocolSupportsPorts(r.protocol)) {
          at([side, f], `protocol ${show(r.protocol)} has no ports; ${side}.${f} needs protocol TCP, UDP or SCTP`);
        }
      }
    }

    // All nets of a rule must be one IP family, and match ipVersion if it is set.
    const families = new Map<IPVersion, string>();
    for (const side of SIDES) {
      for (const f of NET_FIELDS) {
        (r[side]?.[f] ?? []).forEach((net, i) => {
          const c = parseCIDROrIP(net);
          if (!c) return;
          if (r.ipVersion !== undefined && c.version !== r.ipVersion) {
            at([side, f, i], `IPv${c.version} network ${net} does not match ipVersion ${r.ipVersion}`);
          }
          if (!families.has(c.version)) families.set(c.version, `${side}.${f}[${i}] ${net}`);
        });
      }
    }
    if (r.ipVersion === undefined && families.size > 1) {
      at([], `rule mixes IPv4 and IPv6 networks (${families.get(4)} and ${families.get(6)})`);
    }
  }),
);
export type Rule = v.InferOutput<typeof RuleSchema>;

export const rulesSchema = (what: string) =>
  v.pipe(
    v.array(RuleSchema, messageFor(`${what} must be a list of rules`)),
    v.maxLength(1024, (i) => `${what} has ${(i.input as unknown[]).length} rules; at most 1024 are allowed`),
  );
