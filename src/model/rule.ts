// Policy Rule and EntityRule with Calico's cross-field rules: protocol/port
// agreement, ICMP and IP version, one IP family per rule, services exclusivity, HTTP.
import * as v from 'valibot';
import { addAt, boundedArray, enumSchema, obj, selectorSchema, show } from './common.ts';
import { parseCIDROrIP, type IPVersion } from '../net/ip.ts';
import { annotationsSchema } from './metadata.ts';
import { clip } from './limits.ts';
import {
  ACTIONS,
  HTTPMatchSchema,
  ICMPFieldsSchema,
  ProtocolSchema,
  ServiceAccountMatchSchema,
  ServiceMatchSchema,
  isNamedPort,
  isValidProtocol,
  namespaceSelectorSchema,
  netList,
  portList,
  protocolSupportsPorts,
  type Protocol,
} from './match.ts';

// ---- EntityRule ----------------------------------------------------------------

export const EntityRuleSchema = v.pipe(
  obj(
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
    'source/destination',
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
const PROTOCOL_FIELDS = ['protocol', 'notProtocol'] as const;

const isICMP = (p: Protocol | undefined) => p === 'ICMP' || p === 1;
const isICMPv6 = (p: Protocol | undefined) => p === 'ICMPv6' || p === 58;

export const RuleSchema = v.pipe(
  obj(
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
      metadata: v.exactOptional(obj({ annotations: v.exactOptional(annotationsSchema) }, 'rule metadata')),
    },
    'a rule',
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
        if ((r.destination[f]?.length ?? 0) > 0)
          at(['destination', f], `destination ${f} cannot be combined with destination services`);
      }
    }

    // ICMP matches and IP version agreement.
    if (r.icmp !== undefined && !isICMP(r.protocol) && !isICMPv6(r.protocol)) {
      at(['icmp'], 'an icmp match requires protocol ICMP, ICMPv6, 1 or 58');
    }
    if (r.ipVersion !== undefined) {
      for (const f of PROTOCOL_FIELDS) {
        if (r.ipVersion === 6 && isICMP(r[f])) at([f], `${f} ${show(r[f])} requires ipVersion 4 (ipVersion is 6)`);
        if (r.ipVersion === 4 && isICMPv6(r[f])) at([f], `${f} ${show(r[f])} requires ipVersion 6 (ipVersion is 4)`);
      }
    }

    // Ports need a protocol that has ports (HEAD semantics: named-only lists may omit it).
    for (const side of SIDES) {
      const e = r[side];
      if (e === undefined) continue;
      for (const f of PORT_FIELDS) {
        const ports = e[f];
        if (ports === undefined || ports.length === 0) continue;
        if (r.protocol === undefined) {
          const numeric = ports.filter((p) => !isNamedPort(p));
          if (numeric.length > 0) {
            at(
              [side, f],
              `numeric ports and port ranges require protocol TCP, UDP or SCTP (found ${clip(numeric.join(', '))})`,
            );
          }
        } else if (isValidProtocol(r.protocol) && !protocolSupportsPorts(r.protocol)) {
          at([side, f], `protocol ${show(r.protocol)} has no ports; ${side}.${f} needs protocol TCP, UDP or SCTP`);
        }
      }
    }

    // All nets of a rule must be one IP family, and match ipVersion if it is set.
    // Plain loops and a map made only for a rule with nets: every rule of a manifest runs this.
    let families: Map<IPVersion, string> | undefined;
    for (const side of SIDES) {
      const e = r[side];
      if (e === undefined) continue;
      for (const f of NET_FIELDS) {
        const nets = e[f];
        if (nets === undefined) continue;
        for (let i = 0; i < nets.length; i++) {
          const net = nets[i]!;
          const c = parseCIDROrIP(net);
          if (!c) continue;
          if (r.ipVersion !== undefined && c.version !== r.ipVersion) {
            at([side, f, i], `IPv${c.version} network ${net} does not match ipVersion ${r.ipVersion}`);
          }
          families ??= new Map();
          if (!families.has(c.version)) families.set(c.version, `${side}.${f}[${i}] ${net}`);
        }
      }
    }
    if (r.ipVersion === undefined && families !== undefined && families.size > 1) {
      at([], `rule mixes IPv4 and IPv6 networks (${families.get(4)} and ${families.get(6)})`);
    }
  }),
);
export type Rule = v.InferOutput<typeof RuleSchema>;

/**
 * Valid rules remembered by their JSON text while a manifest file is validated (rememberingRules):
 * policies written from a template repeat most of their rules (a file of the 1,000-policy
 * benchmark node holds 1,000 rules and about 430 distinct ones), and the schema's verdict and
 * output depend only on the rule's value. A hit returns a fresh copy of the remembered output
 * (JSON.parse), so no two resources share objects. Only rules whose JSON says exactly what they
 * hold are remembered: none with `null` in the text (NaN, Infinity and holes also print as null;
 * nulls themselves are dropped before validation) and none longer than REMEMBERED_MAX_TEXT. The
 * one value JSON does not tell apart is -0 from 0, which no rule field distinguishes. Invalid
 * rules always run the schema, so their errors are exactly the schema's. Forgotten when the
 * file is done (nothing held while the ruleset is rendered and applied), and bounded.
 */
let remembered: Map<string, string | true> | undefined;
const REMEMBERED_MAX = 8_192;
const REMEMBERED_MAX_TEXT = 2_048;

/** Runs `fn` (the validation of one manifest file) with valid rules remembered, then forgets them. */
export function rememberingRules<T>(fn: () => T): T {
  if (remembered !== undefined) return fn();
  remembered = new Map();
  try {
    return fn();
  } finally {
    remembered = undefined;
  }
}

function rememberedKey(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const text = JSON.stringify(value);
  return text.length > REMEMBERED_MAX_TEXT || text.includes('null') ? undefined : text;
}

const RememberedRuleSchema: typeof RuleSchema = {
  ...RuleSchema,
  '~run'(dataset, config) {
    const memo = remembered;
    if (memo === undefined) return RuleSchema['~run'](dataset, config);
    const key = rememberedKey(dataset.value);
    if (key !== undefined) {
      const hit = memo.get(key);
      // `true`: the output's JSON is the input's (the usual case: nothing transformed or reordered).
      if (hit !== undefined) return { typed: true, value: JSON.parse(hit === true ? key : hit) as Rule };
    }
    const out = RuleSchema['~run'](dataset, config);
    if (key !== undefined && out.typed && out.issues === undefined) {
      const text = JSON.stringify(out.value);
      if (memo.size >= REMEMBERED_MAX) memo.clear();
      memo.set(key, text === key ? true : text);
    }
    return out;
  },
};

export const rulesSchema = (what: string) =>
  boundedArray(RememberedRuleSchema, 1024, (n) => `${what} has ${n} rules; at most 1024 are allowed`, `${what} must be a list of rules`);
