// Profile: ordered rules applied after policies, plus labels inherited by the
// endpoints that list the profile.
import * as v from 'valibot';
import { API_VERSION, obj } from './common.ts';
import { labelsSchema, metadataSchema, subdomainNameRule } from './metadata.ts';
import { rulesSchema } from './rule.ts';

export const ProfileSpecSchema = obj(
  {
    ingress: v.exactOptional(rulesSchema('ingress')),
    egress: v.exactOptional(rulesSchema('egress')),
    labelsToApply: v.exactOptional(labelsSchema('labelsToApply')),
  },
  'spec',
);

export const ProfileSchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('Profile'),
  metadata: metadataSchema(subdomainNameRule),
  spec: v.exactOptional(ProfileSpecSchema, {}),
});
export type Profile = v.InferOutput<typeof ProfileSchema>;
