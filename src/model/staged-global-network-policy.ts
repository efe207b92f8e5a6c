// StagedGlobalNetworkPolicy: a GlobalNetworkPolicy that nobody enforces, plus `stagedAction`.
// outpost measures it (count-only rules, docs/staged-policies.md) instead of enforcing it.
//
// As in Calico's validator: the name follows the GlobalNetworkPolicy rule; with stagedAction
// Delete ("this would remove the enforced policy of the same name") every spec field except
// `tier` must be left empty; otherwise the spec is checked exactly as a GlobalNetworkPolicy's.
// Calico's client fills in `types` for every stagedAction but Delete (validate.ts does the same).
import * as v from 'valibot';
import { API_VERSION, addAt, enumSchema, obj } from './common.ts';
import { metadataSchema } from './metadata.ts';
import { POLICY_SPEC_ENTRIES, checkPolicySpec, gnpNameRule } from './global-network-policy.ts';

export const STAGED_ACTIONS = ['Set', 'Delete', 'Learn', 'Ignore'] as const;
export type StagedAction = (typeof STAGED_ACTIONS)[number];

/** The spec fields a Delete must leave empty: all but `tier` (and `stagedAction` itself). */
const POLICY_FIELDS = Object.keys(POLICY_SPEC_ENTRIES).filter((k) => k !== 'tier');

/** Go's zero value test for the fields above (absent, false, 0, "", empty list). */
const isZero = (x: unknown): boolean =>
  x === undefined || x === false || x === 0 || x === '' || (Array.isArray(x) && x.length === 0);

export const StagedGlobalNetworkPolicySpecSchema = v.pipe(
  obj({ stagedAction: v.exactOptional(enumSchema(STAGED_ACTIONS, 'stagedAction')), ...POLICY_SPEC_ENTRIES }, 'spec'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const s = dataset.value;
    if (s.stagedAction !== 'Delete') return checkPolicySpec(s, addIssue);
    for (const field of POLICY_FIELDS) {
      if (!isZero((s as Record<string, unknown>)[field])) {
        addAt(addIssue, s, [field], `must be left out when stagedAction is Delete (a staged delete names only the policy and its tier)`);
      }
    }
  }),
);
export type StagedGlobalNetworkPolicySpec = v.InferOutput<typeof StagedGlobalNetworkPolicySpecSchema>;

export const StagedGlobalNetworkPolicySchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('StagedGlobalNetworkPolicy'),
  metadata: metadataSchema(gnpNameRule),
  spec: v.exactOptional(StagedGlobalNetworkPolicySpecSchema, {}),
});
export type StagedGlobalNetworkPolicy = v.InferOutput<typeof StagedGlobalNetworkPolicySchema>;

/**
 * Whether outpost measures this staged policy: every stagedAction but Delete. Felix receives
 * Set, Learn and Ignore alike (only Delete is dropped before it), so they are all counted.
 */
export const isMeasured = (p: StagedGlobalNetworkPolicy): boolean => p.spec.stagedAction !== 'Delete';
