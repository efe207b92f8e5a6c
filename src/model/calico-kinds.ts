// Every kind of the projectcalico.org/v3 API, so a manifest can tell "a Calico resource that
// never governs a host" (skipped with a warning, as a site's manifests mix them freely) from
// "not a Calico kind at all" (a typo such as `HostEndPoint`: an error with a suggestion).
// Taken from the Kind* constants of api/pkg/apis/projectcalico/v3 and libcalico-go's v3 API,
// plus the Calico Enterprise kinds a shared manifest folder may hold.
import { nearest } from './decode.ts';
import { RESOURCE_KINDS } from './resource.ts';

const OPEN_SOURCE_KINDS = [
  'BGPConfiguration',
  'BGPFilter',
  'BGPPeer',
  'BlockAffinity',
  'CalicoNodeStatus',
  'ClusterInformation',
  'FelixConfiguration',
  'GlobalNetworkPolicy',
  'GlobalNetworkSet',
  'HostEndpoint',
  'IPAMBlock',
  'IPAMConfiguration',
  'IPAMHandle',
  'IPPool',
  'IPReservation',
  'KubeControllersConfiguration',
  'LiveMigration',
  'NetworkPolicy',
  'NetworkSet',
  'Node',
  'Profile',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'StagedNetworkPolicy',
  'Tier',
  'WorkloadEndpoint',
] as const;

const ENTERPRISE_KINDS = [
  'AlertException',
  'DeepPacketInspection',
  'EgressGatewayPolicy',
  'ExternalNetwork',
  'GlobalAlert',
  'GlobalAlertTemplate',
  'GlobalReport',
  'GlobalReportType',
  'GlobalThreatFeed',
  'LicenseKey',
  'ManagedCluster',
  'PacketCapture',
  'PolicyRecommendationScope',
  'RemoteClusterConfiguration',
  'SecurityEventWebhook',
  'UISettings',
  'UISettingsGroup',
] as const;

export const CALICO_KINDS: readonly string[] = Object.freeze([...OPEN_SOURCE_KINDS, ...ENTERPRISE_KINDS]);

/** A Calico kind outpost does not load (it has no effect on a host's ruleset). */
export function isOtherCalicoKind(kind: string): boolean {
  return CALICO_KINDS.includes(kind) && !RESOURCE_KINDS.includes(kind);
}

/** The message for a kind that is not a Calico kind, with the nearest one when it is close. */
export function unknownKindMessage(kind: string): string {
  const list = kind.endsWith('List') && kind !== 'List' ? 'List' : '';
  const guess = nearest(kind.slice(0, kind.length - list.length), CALICO_KINDS);
  const hint = guess ? `; did you mean \`${guess}${list}\`?` : '';
  return `kind ${JSON.stringify(kind)} is not a projectcalico.org/v3 kind${hint}`;
}
