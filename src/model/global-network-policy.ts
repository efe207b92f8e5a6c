// GlobalNetworkPolicy: spec fields, the doNotTrack/preDNAT/applyOnForward
// constraints, per-direction service/HTTP restrictions, and the client-side defaulting
// of `tier` (here) and `types` (defaultPolicyTypes, applied to manifests only by validate.ts:
// a stored policy keeps the types it has, and Felix reads none as both directions).
import * as v from 'valibot';
import {
  API_VERSION,
  GNP_NAME_RE,
  addAt,
  boolSchema,
  enumSchema,
  finiteNumber,
  selectorSchema,
  show,
  stringSchema,
  uniqueList,
  obj,
} from './common.ts';
import { metadataSchema, type NameRule } from './metadata.ts';
import { tierNameRule } from './tier.ts';
import { rulesSchema, type Rule } from './rule.ts';

export const POLICY_TYPES = ['Ingress', 'Egress'] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];

export const gnpNameRule: NameRule = {
  check: (n) =>
    n.length > 253
      ? `name is ${n.length} characters; at most 253 are allowed`
      : GNP_NAME_RE.test(n)
        ? undefined
        : `name ${show(n)} must be a lower-case DNS label with at most one "."`,
};

/** The types Calico's client fills in when a policy is written without them. */
export function defaultPolicyTypes(spec: { ingress?: readonly Rule[]; egress?: readonly Rule[] }): PolicyType[] {
  const hasEgress = (spec.egress?.length ?? 0) > 0;
  const hasIngress = (spec.ingress?.length ?? 0) > 0;
  if (!hasEgress) return ['Ingress'];
  return hasIngress ? ['Ingress', 'Egress'] : ['Egress'];
}

/** The spec's fields, shared with StagedGlobalNetworkPolicy (staged-global-network-policy.ts). */
export const POLICY_SPEC_ENTRIES = {
  // A Tier's own name rule (DNS label, at most 63 characters): a longer or dotted tier name
  // can never exist, and a policy naming it would silently deny.
  tier: v.exactOptional(
    v.pipe(
      stringSchema('tier'),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const t = dataset.value;
        if (tierNameRule.check(t) === undefined) return;
        addIssue({
          message:
            t.length > 63
              ? `tier is ${t.length} characters; at most 63 are allowed (a Tier's name is a DNS label)`
              : `tier must be a lower-case DNS name of a Tier: a DNS label (alphanumerics and "-", no dots; got ${show(t)})`,
        });
      }),
    ),
    'default',
  ),
  order: v.exactOptional(finiteNumber('order')),
  selector: v.exactOptional(selectorSchema('selector', true)),
  types: v.exactOptional(uniqueList(enumSchema(POLICY_TYPES, 'types entry'), 'types', 2)),
  ingress: v.exactOptional(rulesSchema('ingress')),
  egress: v.exactOptional(rulesSchema('egress')),
  doNotTrack: v.exactOptional(boolSchema('doNotTrack')),
  preDNAT: v.exactOptional(boolSchema('preDNAT')),
  applyOnForward: v.exactOptional(boolSchema('applyOnForward')),
  serviceAccountSelector: v.exactOptional(selectorSchema('serviceAccountSelector', true)),
  namespaceSelector: v.exactOptional(selectorSchema('namespaceSelector', true)),
  performanceHints: v.exactOptional(
    uniqueList(enumSchema(['AssumeNeededOnEveryNode'], 'performanceHints entry'), 'performanceHints'),
  ),
};

type SpecIssue = Parameters<typeof addAt>[0];
type SpecFields = v.InferOutput<ReturnType<typeof v.object<typeof POLICY_SPEC_ENTRIES>>>;

/** The cross-field rules of a policy spec (also a staged policy's, unless it stages a delete). */
export function checkPolicySpec(s: SpecFields, addIssue: SpecIssue): void {
  const at = (path: (string | number)[], message: string) => addAt(addIssue, s, path, message);
  if (s.doNotTrack && s.preDNAT) at(['preDNAT'], 'preDNAT and doNotTrack cannot both be true');
  if (s.preDNAT && (s.egress?.length ?? 0) > 0) at(['egress'], 'a preDNAT policy cannot have egress rules');
  if (s.preDNAT && s.types?.includes('Egress')) at(['types'], "a preDNAT policy cannot have type 'Egress'");
  if ((s.doNotTrack || s.preDNAT) && !s.applyOnForward) {
    at(['applyOnForward'], `applyOnForward must be true when ${s.doNotTrack ? 'doNotTrack' : 'preDNAT'} is true`);
  }
  (s.ingress ?? []).forEach((r, i) => {
    if (r.destination?.services)
      at(['ingress', i, 'destination', 'services'], 'services are not allowed in an ingress rule destination');
    if (r.source?.services && !r.source.services.namespace) {
      at(
        ['ingress', i, 'source', 'services', 'namespace'],
        'services in a GlobalNetworkPolicy must specify a namespace',
      );
    }
  });
  (s.egress ?? []).forEach((r, i) => {
    if (r.source?.services)
      at(['egress', i, 'source', 'services'], 'services are not allowed in an egress rule source');
    if (r.destination?.services && !r.destination.services.namespace) {
      at(
        ['egress', i, 'destination', 'services', 'namespace'],
        'services in a GlobalNetworkPolicy must specify a namespace',
      );
    }
    if (r.http) at(['egress', i, 'http'], 'an HTTP match is not allowed in egress rules');
  });
}

export const GlobalNetworkPolicySpecSchema = v.pipe(
  obj(POLICY_SPEC_ENTRIES, 'spec'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (dataset.typed) checkPolicySpec(dataset.value, addIssue);
  }),
);
export type GlobalNetworkPolicySpec = v.InferOutput<typeof GlobalNetworkPolicySpecSchema>;

export const GlobalNetworkPolicySchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('GlobalNetworkPolicy'),
  metadata: metadataSchema(gnpNameRule),
  spec: v.exactOptional(GlobalNetworkPolicySpecSchema, {}),
});
export type GlobalNetworkPolicy = v.InferOutput<typeof GlobalNetworkPolicySchema>;
