// Tier: ordered groups of policies and the verdict when a policy in the tier
// applied but no rule decided. Also the CEL rules that pin Calico's built-in tiers.
import * as v from 'valibot';
import { API_VERSION, DNS_LABEL_RE, addAt, enumSchema, finiteNumber, messageFor, show, stringSchema, obj } from './common.ts';
import { metadataSchema, type NameRule } from './metadata.ts';

export const TIER_DEFAULT_ACTIONS = ['Deny', 'Pass'] as const;

export const tierNameRule: NameRule = {
  check: (n) =>
    n.length > 63
      ? `name is ${n.length} characters; at most 63 are allowed`
      : DNS_LABEL_RE.test(n)
        ? undefined
        : `name ${show(n)} must be a lower-case DNS label (alphanumerics and "-", no dots)`,
};

/** Order and default action that Calico enforces for the tiers it creates itself. */
export const BUILTIN_TIERS: Readonly<Record<string, { order: number; defaultAction: 'Deny' | 'Pass' }>> = {
  default: { order: 1_000_000, defaultAction: 'Deny' },
  'kube-admin': { order: 1_000, defaultAction: 'Pass' },
  'kube-baseline': { order: 10_000_000, defaultAction: 'Pass' },
};

export const TierSpecSchema = obj(
  {
    order: v.exactOptional(finiteNumber('order')),
    defaultAction: v.exactOptional(enumSchema(TIER_DEFAULT_ACTIONS, 'defaultAction'), 'Deny'),
  },
  'spec',
);

const optionalString = (what: string) => v.exactOptional(stringSchema(what));

/** metav1.Condition; outpost only carries it (calicoctl prints a Tier's status). */
const ConditionSchema = obj(
  {
    type: optionalString('type'),
    status: optionalString('status'),
    observedGeneration: v.exactOptional(finiteNumber('observedGeneration')),
    lastTransitionTime: optionalString('lastTransitionTime'),
    reason: optionalString('reason'),
    message: optionalString('message'),
  },
  'a condition',
);

export const TierSchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('Tier'),
  metadata: metadataSchema(tierNameRule),
  spec: v.exactOptional(TierSpecSchema, {}),
  // Written by Calico's controllers, not by users; accepted so `get -o yaml` output validates.
  status: v.exactOptional(
    obj({ conditions: v.exactOptional(v.array(ConditionSchema, messageFor('conditions must be a list'))) }, 'status'),
  ),
});
export type Tier = v.InferOutput<typeof TierSchema>;

type AddIssue = Parameters<typeof addAt>[0];

/**
 * Cross-field rules between name and spec; run by the Resource schema, also on a
 * partially invalid value (hence the defensive access).
 */
export function checkTier(t: Tier, addIssue: AddIssue): void {
  const pinned = BUILTIN_TIERS[t.metadata?.name];
  if (!pinned || typeof t.spec !== 'object') return;
  if (t.spec.defaultAction !== pinned.defaultAction) {
    addAt(
      addIssue,
      t,
      ['spec', 'defaultAction'],
      `the '${t.metadata.name}' tier must have defaultAction ${pinned.defaultAction}`,
    );
  }
  if (t.spec.order !== pinned.order) {
    addAt(
      addIssue,
      t,
      ['spec', 'order'],
      `the '${t.metadata.name}' tier must have order ${pinned.order} (got ${show(t.spec.order)})`,
    );
  }
}
