// FelixConfiguration: only the failsafe port lists (and the nodeSelector naming rule)
// matter to outpost; every other spec field is kept as given, unvalidated.
import * as v from 'valibot';
import {
  API_VERSION,
  addAt,
  enumSchema,
  intInRange,
  stringSchema,
  messageFor,
  selectorSchema,
  noArray,
  objectMessage,
  obj,
} from './common.ts';
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

export const FelixConfigurationSpecSchema = noArray(
  v.looseObject(
    {
      failsafeInboundHostPorts: v.exactOptional(protoPortList('failsafeInboundHostPorts')),
      failsafeOutboundHostPorts: v.exactOptional(protoPortList('failsafeOutboundHostPorts')),
      nodeSelector: v.exactOptional(selectorSchema('nodeSelector', true)),
    },
    objectMessage('spec'),
  ),
  'spec',
);

export const FelixConfigurationSchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('FelixConfiguration'),
  metadata: metadataSchema(subdomainNameRule),
  spec: v.exactOptional(FelixConfigurationSpecSchema, {}),
});
export type FelixConfiguration = v.InferOutput<typeof FelixConfigurationSchema>;

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
