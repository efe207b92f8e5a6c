// Profile (§2.5): ordered rules applied after policies, plus labels inherited by the
// endpoints that list the profile.
import * as v from 'valibot';
import { API_VERSION, labelsSchema, metadataSchema, subdomainNameRule, objectMessage } from './common.ts';
import { rulesSchema } from './rule.ts';

export const ProfileSpecSchema = v.object(
  {
    ingress: v.exactOptional(rulesSchema('ingress')),
    egress: v.exactOptional(rulesSchema('egress')),
    labelsToApply: v.exactOptional(labelsSchema('labelsToApply')),
  },
  objectMessage('spec'),
);

export const ProfileSchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('Profile'),
  metadata: metadataSchema(subdomainNameRule),
  spec: v.exactOptional(ProfileSpecSchema, {}),
});
export type Profile = v.InferOutput<typeof ProfileSchema>;
