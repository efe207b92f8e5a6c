// GlobalNetworkSet: labelled CIDRs that rule selectors can match. Entries need
// not be strictly masked, unlike rule nets.
import * as v from 'valibot';
import { API_VERSION, looseCidrSchema, messageFor, obj } from './common.ts';
import { metadataSchema, subdomainNameRule } from './metadata.ts';

// Felix adds this label itself to namespaced NetworkSets; a global set may not fake it.
export const RESERVED_NETWORK_SET_LABEL = 'projectcalico.org/namespace';

export const GlobalNetworkSetSpecSchema = obj(
  { nets: v.exactOptional(v.array(looseCidrSchema('nets entry'), messageFor('nets must be a list'))) },
  'spec',
);

export const GlobalNetworkSetSchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('GlobalNetworkSet'),
  metadata: metadataSchema(subdomainNameRule, [RESERVED_NETWORK_SET_LABEL]),
  spec: v.exactOptional(GlobalNetworkSetSpecSchema, {}),
});
export type GlobalNetworkSet = v.InferOutput<typeof GlobalNetworkSetSchema>;
