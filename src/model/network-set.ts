// NetworkSet (namespaced): labelled CIDRs like a
// GlobalNetworkSet, living in a namespace. Felix adds the namespace label and inherits the
// namespace profile's labels (members.ts); a set may not fake the namespace label itself.
import * as v from 'valibot';
import { API_VERSION, looseCidrSchema, messageFor, obj } from './common.ts';
import { subdomainNameRule } from './metadata.ts';
import { RESERVED_NETWORK_SET_LABEL } from './global-network-set.ts';
import { namespacedMetadataSchema } from './namespaced.ts';

export const NetworkSetSpecSchema = obj(
  { nets: v.exactOptional(v.array(looseCidrSchema('nets entry'), messageFor('nets must be a list'))) },
  'spec',
);

export const NetworkSetSchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('NetworkSet'),
  metadata: namespacedMetadataSchema(subdomainNameRule, [RESERVED_NETWORK_SET_LABEL]),
  spec: v.exactOptional(NetworkSetSpecSchema, {}),
});
export type NetworkSet = v.InferOutput<typeof NetworkSetSchema>;
