// FelixConfiguration: outpost implements the failsafe port lists, ipv6Support,
// disableConntrackInvalidCheck and the nodeSelector naming rule. Every other real Felix
// field (felix-fields.ts) is kept as given, unvalidated, and warned about; any other key is
// unknown and refused like in every other resource.
import * as v from 'valibot';
import {
  API_VERSION,
  addAt,
  boolSchema,
  enumSchema,
  intInRange,
  stringSchema,
  messageFor,
  selectorSchema,
  obj,
} from './common.ts';
import { FELIX_UNIMPLEMENTED_FIELDS, type FelixUnimplementedField } from './felix-fields.ts';
import { metadataSchema, subdomainNameRule } from './metadata.ts';
import { parseCIDROrIP } from '../net/ip.ts';

export const ProtoPortSchema = obj(
  {
    protocol: enumSchema(['TCP', 'UDP', 'SCTP'], 'protocol'),
    port: intInRange('port', 0, 65535),
    // An empty net means "any", as Go's omitempty would read it.
    net: v.exactOptional(
      v.pipe(
        stringSchema('net'),
        v.check((s) => s === '' || parseCIDROrIP(s) !== undefined, messageFor('net must be a CIDR or IP address')),
      ),
    ),
  },
  'a failsafe entry',
);
export type ProtoPort = v.InferOutput<typeof ProtoPortSchema>;

const protoPortList = (what: string) => v.array(ProtoPortSchema, messageFor(`${what} must be a list`));

// Unimplemented fields: any value, kept as written (Felix validates them; outpost ignores them).
const unimplemented = Object.fromEntries(FELIX_UNIMPLEMENTED_FIELDS.map((f) => [f, v.exactOptional(v.unknown())])) as {
  [K in FelixUnimplementedField]: v.ExactOptionalSchema<v.UnknownSchema, undefined>;
};

export const FelixConfigurationSpecSchema = obj(
  {
    ...unimplemented,
    failsafeInboundHostPorts: v.exactOptional(protoPortList('failsafeInboundHostPorts')),
    failsafeOutboundHostPorts: v.exactOptional(protoPortList('failsafeOutboundHostPorts')),
    nodeSelector: v.exactOptional(selectorSchema('nodeSelector', true)),
    ipv6Support: v.exactOptional(boolSchema('ipv6Support')),
    disableConntrackInvalidCheck: v.exactOptional(boolSchema('disableConntrackInvalidCheck')),
  },
  'spec',
);

/** Spec fields that are set but have no effect in outpost (in the spec's key order). */
export function unimplementedFelixFields(spec: object | undefined): string[] {
  if (typeof spec !== 'object' || spec === null) return [];
  const names: readonly string[] = FELIX_UNIMPLEMENTED_FIELDS;
  return Object.keys(spec).filter((k) => names.includes(k));
}

export const FelixConfigurationSchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('FelixConfiguration'),
  metadata: metadataSchema(subdomainNameRule),
  spec: v.exactOptional(FelixConfigurationSpecSchema, {}),
});
export type FelixConfiguration = v.InferOutput<typeof FelixConfigurationSchema>;

/**
 * The FelixConfigurations that apply to `node`, lowest precedence first, with Felix's order:
 * `default`, then `node.<name>`; a field set in a later one overrides the same field before it.
 */
export function felixConfigLayers(configs: readonly FelixConfiguration[], node: string): FelixConfiguration[] {
  const out: FelixConfiguration[] = [];
  for (const name of ['default', `node.${node}`]) {
    const fc = configs.find((c) => c.metadata.name === name);
    if (fc) out.push(fc);
  }
  return out;
}

type AddIssue = Parameters<typeof addAt>[0];

/**
 * `default` is global config and `node.<name>` per-node; only other names may carry a
 * nodeSelector. Runs on partially invalid values too, hence the defensive access.
 */
export function checkFelixConfiguration(fc: FelixConfiguration, addIssue: AddIssue): void {
  const name = fc.metadata?.name;
  if (typeof name !== 'string' || typeof fc.spec !== 'object') return;
  if ((name === 'default' || name.startsWith('node.')) && fc.spec.nodeSelector !== undefined) {
    addAt(addIssue, fc, ['spec', 'nodeSelector'], `nodeSelector must not be set on FelixConfiguration '${name}'`);
  }
}
