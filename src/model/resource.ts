// The union of every resource kind outpost understands, discriminated on `kind`, plus
// the cross-field rules that need both metadata and spec, and key helpers.
import * as v from 'valibot';
import { FelixConfigurationSchema, checkFelixConfiguration, type FelixConfiguration } from './felix-configuration.ts';
import { GlobalNetworkPolicySchema, type GlobalNetworkPolicy } from './global-network-policy.ts';
import { StagedGlobalNetworkPolicySchema, type StagedGlobalNetworkPolicy } from './staged-global-network-policy.ts';
import { GlobalNetworkSetSchema, type GlobalNetworkSet } from './global-network-set.ts';
import { HostEndpointSchema, type HostEndpoint } from './host-endpoint.ts';
import { ProfileSchema, type Profile } from './profile.ts';
import { TierSchema, checkTier, type Tier } from './tier.ts';
import { NetworkSetSchema, type NetworkSet } from './network-set.ts';
import { WorkloadEndpointSchema, type WorkloadEndpoint } from './workload-endpoint.ts';
import { isNamespacedKind } from './namespaced.ts';

export const RESOURCE_KINDS: readonly string[] = Object.freeze([
  'HostEndpoint',
  'Profile',
  'GlobalNetworkPolicy',
  'GlobalNetworkSet',
  'Tier',
  'FelixConfiguration',
  'NetworkSet',
  'WorkloadEndpoint',
  'StagedGlobalNetworkPolicy',
]);

export type Resource =
  | HostEndpoint
  | Profile
  | GlobalNetworkPolicy
  | GlobalNetworkSet
  | Tier
  | FelixConfiguration
  | NetworkSet
  | WorkloadEndpoint
  | StagedGlobalNetworkPolicy;
export type ResourceKind = Resource['kind'];

/**
 * Full validation of any supported resource. The per-kind schemas are the variant's
 * options; the trailing check adds the name-versus-spec rules they cannot see.
 */
export const ResourceSchema = v.pipe(
  v.variant(
    'kind',
    [
      HostEndpointSchema,
      ProfileSchema,
      GlobalNetworkPolicySchema,
      GlobalNetworkSetSchema,
      TierSchema,
      FelixConfigurationSchema,
      NetworkSetSchema,
      WorkloadEndpointSchema,
      StagedGlobalNetworkPolicySchema,
    ],
    (i) => `kind ${JSON.stringify(i.input)} is not supported by outpost`,
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    // Run even when other fields failed, so that all problems are reported at once.
    // The check functions guard their own field access, so a partial value is safe here.
    const r = dataset.value as Resource | undefined;
    if (r?.kind === 'Tier') checkTier(r, addIssue);
    if (r?.kind === 'FelixConfiguration') checkFelixConfiguration(r, addIssue);
  }),
);

// Compile-time guard that the hand-listed union above is exactly what the schema yields.
type SchemaResource = v.InferOutput<typeof ResourceSchema>;
const sameUnion: [SchemaResource] extends [Resource] ? ([Resource] extends [SchemaResource] ? true : false) : false =
  true;
void sameUnion;

export function isResourceKind(kind: unknown): kind is ResourceKind {
  return typeof kind === 'string' && RESOURCE_KINDS.includes(kind);
}

/** "<Kind>/<name>", or "<Kind>/<namespace>/<name>" for a namespaced kind (absent namespace: "default"). */
export function resourceKey(r: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return isNamespacedKind(r.kind) ? `${r.kind}/${r.metadata.namespace || 'default'}/${r.metadata.name}` : `${r.kind}/${r.metadata.name}`;
}

export function parseResourceKey(key: string): { kind: string; name: string } | undefined {
  const slash = key.indexOf('/');
  if (slash <= 0 || slash === key.length - 1) return undefined;
  return { kind: key.slice(0, slash), name: key.slice(slash + 1) };
}
