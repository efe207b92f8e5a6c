/**
 * The Go types Calico marshals for the kinds outpost handles, as go-json Shapes: field
 * order and json tags of projectcalico.org/v3 (api/pkg/apis/projectcalico/v3, Calico v3.31)
 * and of k8s apimachinery v0.37 ObjectMeta/ListMeta. These
 * are API field lists, not code. Pure.
 *
 * FelixConfiguration is modelled only at the top level of its spec: outpost reads its
 * failsafe ports and keeps every other field as given (nested values in their own order).
 */
import type { Field, Shape } from './go-json.ts';

const S = { t: 'string' } as const;
const INT = { t: 'int' } as const;
const FLOAT = { t: 'float' } as const;
const BOOL = { t: 'bool' } as const;
const ANY = { t: 'any' } as const;
const ptr = (elem: Shape): Shape => ({ t: 'ptr', elem });
const slice = (elem: Shape): Shape => ({ t: 'slice', elem });
const map = (elem: Shape): Shape => ({ t: 'map', elem });
const struct = (...fields: Field[]): Shape => ({ t: 'struct', fields });
const f = (name: string, shape: Shape, omit?: 'empty' | 'zero'): Field => (omit ? { name, shape, omit } : { name, shape });
const e = (name: string, shape: Shape): Field => f(name, shape, 'empty');

export const OBJECT_META: Shape = struct(
  e('name', S),
  e('generateName', S),
  e('namespace', S),
  e('selfLink', S),
  e('uid', S),
  e('resourceVersion', S),
  e('generation', INT),
  // omitempty+omitzero since apimachinery v0.34: a zero creationTimestamp is left out, not null.
  f('creationTimestamp', { t: 'time' }, 'zero'),
  e('deletionTimestamp', ptr({ t: 'time' })),
  e('deletionGracePeriodSeconds', ptr(INT)),
  e('labels', map(S)),
  e('annotations', map(S)),
  e('ownerReferences', slice(ANY)),
  e('finalizers', slice(S)),
  e('managedFields', slice(ANY)),
);

const LIST_META: Shape = struct(e('selfLink', S), e('resourceVersion', S), e('continue', S), e('remainingItemCount', ptr(INT)));

const ICMP = struct(e('type', ptr(INT)), e('code', ptr(INT)));
const PORT = { t: 'port' } as const;
const PROTOCOL = { t: 'protocol' } as const;

const ENTITY_RULE = struct(
  e('nets', slice(S)),
  e('selector', S),
  e('namespaceSelector', S),
  e('services', ptr(struct(e('name', S), e('namespace', S)))),
  e('ports', slice(PORT)),
  e('notNets', slice(S)),
  e('notSelector', S),
  e('notPorts', slice(PORT)),
  e('serviceAccounts', ptr(struct(e('names', slice(S)), e('selector', S)))),
);

const RULE = struct(
  f('action', S),
  e('ipVersion', ptr(INT)),
  e('protocol', ptr(PROTOCOL)),
  e('icmp', ptr(ICMP)),
  e('notProtocol', ptr(PROTOCOL)),
  e('notICMP', ptr(ICMP)),
  f('source', ENTITY_RULE, 'zero'),
  f('destination', ENTITY_RULE, 'zero'),
  e('http', ptr(struct(e('methods', slice(S)), e('paths', slice(struct(e('exact', S), e('prefix', S))))))),
  e('metadata', ptr(struct(e('annotations', map(S))))),
);

const object = (spec: Shape, extra: Field[] = []): Shape =>
  struct(e('kind', S), e('apiVersion', S), f('metadata', OBJECT_META), f('spec', spec), ...extra);

const HOST_ENDPOINT = object(
  struct(
    e('node', S),
    e('interfaceName', S),
    e('expectedIPs', slice(S)),
    e('profiles', slice(S)),
    e('ports', slice(struct(f('name', S), f('protocol', PROTOCOL), f('port', INT)))),
  ),
);

const PROFILE = object(struct(e('ingress', slice(RULE)), e('egress', slice(RULE)), e('labelsToApply', map(S))));

const POLICY_SPEC_FIELDS: Field[] = [
  e('tier', S),
  e('order', ptr(FLOAT)),
  e('ingress', slice(RULE)),
  e('egress', slice(RULE)),
  e('selector', S),
  e('types', slice(S)),
  e('doNotTrack', BOOL),
  e('preDNAT', BOOL),
  e('applyOnForward', BOOL),
  e('serviceAccountSelector', S),
  e('namespaceSelector', S),
  e('performanceHints', slice(S)),
];

const GLOBAL_NETWORK_POLICY = object(struct(...POLICY_SPEC_FIELDS));

// StagedGlobalNetworkPolicySpec: stagedAction first, then the GlobalNetworkPolicySpec fields.
const STAGED_GLOBAL_NETWORK_POLICY = object(struct(e('stagedAction', S), ...POLICY_SPEC_FIELDS));

const GLOBAL_NETWORK_SET = object(struct(e('nets', slice(S))));

const NETWORK_SET = object(struct(e('nets', slice(S))));

// libcalico-go/lib/apis/internalapi (v3.31: lib/apis/v3) WorkloadEndpointSpec. Port and NAT
// fields have no omitempty, so a stored port always carries hostPort and hostIP.
const WORKLOAD_ENDPOINT = object(
  struct(
    e('orchestrator', S),
    e('workload', S),
    e('node', S),
    e('containerID', S),
    e('pod', S),
    e('endpoint', S),
    e('serviceAccountName', S),
    e('ipNetworks', slice(S)),
    e('ipNATs', slice(struct(f('internalIP', S), f('externalIP', S)))),
    e('ipv4Gateway', S),
    e('ipv6Gateway', S),
    e('profiles', slice(S)),
    e('interfaceName', S),
    e('mac', S),
    e('ports', slice(struct(f('name', S), f('protocol', PROTOCOL), f('port', INT), f('hostPort', INT), f('hostIP', S)))),
    e('allowSpoofedSourcePrefixes', slice(S)),
    e('qosControls', ptr(ANY)),
  ),
);

// Tier has a status struct tagged omitempty, which Go never omits: stored Tiers carry "status":{}.
const TIER = object(struct(e('order', ptr(FLOAT)), e('defaultAction', ptr(S))), [
  e('status', struct(e('conditions', slice(ANY)))),
]);

/** FelixConfigurationSpec json names in declaration order. */
const FELIX_FIELDS = `nodeSelector useInternalDataplaneDriver dataplaneDriver dataplaneWatchdogTimeout ipv6Support
routeRefreshInterval interfaceRefreshInterval iptablesRefreshInterval iptablesPostWriteCheckInterval
iptablesLockProbeInterval featureDetectOverride featureGates ipsetsRefreshInterval maxIpsetSize iptablesBackend
xdpRefreshInterval netlinkTimeout metadataAddr metadataPort openstackRegion interfacePrefix interfaceExclude
chainInsertMode defaultEndpointToHostAction iptablesFilterAllowAction iptablesMangleAllowAction
iptablesFilterDenyAction logPrefix logActionRateLimit logActionRateLimitBurst logFilePath logSeverityFile
logSeverityScreen logSeveritySys logDebugFilenameRegex ipipEnabled ipipMTU vxlanEnabled vxlanMTU vxlanMTUV6 vxlanPort
vxlanVNI allowVXLANPacketsFromWorkloads allowIPIPPacketsFromWorkloads reportingInterval reportingTTL
endpointReportingEnabled endpointReportingDelay endpointStatusPathPrefix iptablesMarkMask disableConntrackInvalidCheck
healthEnabled healthHost healthPort healthTimeoutOverrides prometheusMetricsEnabled prometheusMetricsHost
prometheusMetricsPort prometheusGoMetricsEnabled prometheusProcessMetricsEnabled prometheusWireGuardMetricsEnabled
prometheusMetricsCAFile prometheusMetricsCertFile prometheusMetricsKeyFile prometheusMetricsClientAuth
failsafeInboundHostPorts failsafeOutboundHostPorts kubeNodePortRanges policySyncPathPrefix usageReportingEnabled
usageReportingInitialDelay usageReportingInterval natPortRange natOutgoingAddress natOutgoingExclusions
deviceRouteSourceAddress deviceRouteSourceAddressIPv6 deviceRouteProtocol removeExternalRoutes programClusterRoutes
ipForwarding externalNodesList debugMemoryProfilePath debugDisableLogDropping debugSimulateCalcGraphHangAfter
debugSimulateDataplaneHangAfter debugSimulateDataplaneApplyDelay debugHost debugPort iptablesNATOutgoingInterfaceFilter
sidecarAccelerationEnabled xdpEnabled genericXDPEnabled nftablesMode nftablesFlowTableOffload
nftablesFlowTableDataIfacePattern nftablesRefreshInterval nftablesFilterAllowAction nftablesMangleAllowAction
nftablesFilterDenyAction nftablesMarkMask bpfEnabled bpfOverlayHostSourceIP bpfDisableUnprivileged bpfJITHardening
bpfLogLevel bpfConntrackLogLevel bpfConntrackMode bpfConntrackTimeouts bpfIPFragTimeout bpfLogFilters bpfCTLBLogFilter
bpfDataIfacePattern bpfL3IfacePattern bpfConnectTimeLoadBalancingEnabled bpfConnectTimeLoadBalancing
bpfHostNetworkedNATWithoutCTLB bpfExternalServiceMode bpfDSROptoutCIDRs bpfExtToServiceConnmark
bpfKubeProxyIptablesCleanupEnabled bpfKubeProxyMinSyncPeriod bpfKubeProxyHealthzPort bpfPSNATPorts
bpfMapSizeNATFrontend bpfMapSizeNATBackend bpfMapSizeNATAffinity bpfMapSizeRoute bpfMapSizeConntrack
bpfMapSizePerCpuConntrack bpfMapSizeConntrackScaling bpfMapSizeConntrackCleanupQueue bpfMapSizeIPSets
bpfMapSizeIfState bpfHostConntrackBypass bpfIPFragmentReassemblyEnabled bpfEnforceRPF bpfPolicyDebugEnabled
bpfForceTrackPacketsFromIfaces bpfDisableGROForIfaces bpfExcludeCIDRsFromNAT bpfExportBufferSizeMB istioAmbientMode
istioDSCPMark cgroupV2Path flowLogsPolicyEvaluationMode bpfRedirectToPeer bpfAttachType flowLogsFlushInterval
flowLogsCollectorDebugTrace flowLogsGoldmaneServer flowLogsLocalReporter bpfProfiling routeSource routeTableRanges
routeTableRange routeSyncDisabled ipv4NormalRoutePriority ipv4ElevatedRoutePriority ipv6NormalRoutePriority
ipv6ElevatedRoutePriority liveMigrationRouteConvergenceTime wireguardEnabled wireguardEnabledV6
wireguardThreadingEnabled wireguardListeningPort wireguardListeningPortV6 wireguardRoutingRulePriority
wireguardInterfaceName wireguardInterfaceNameV6 wireguardMTU wireguardMTUV6 wireguardHostEncryptionEnabled
wireguardKeepAlive awsSrcDstCheck serviceLoopPrevention workloadSourceSpoofing mtuIfacePattern floatingIPs
localSubnetL2Reachability localSubnetL2ReachabilityRefreshInterval windowsManageFirewallRules goGCThreshold
goMemoryLimitMB goMaxProcs requireMTUFile bpfMaglevMaxEndpointsPerService bpfMaglevMaxServices`.split(/\s+/);

/** Plain (non-pointer) string fields with omitempty; everything else in the spec is a pointer or slice. */
const FELIX_PLAIN_STRINGS = new Set(
  `dataplaneDriver featureDetectOverride featureGates metadataAddr openstackRegion interfacePrefix interfaceExclude
chainInsertMode defaultEndpointToHostAction iptablesFilterAllowAction iptablesMangleAllowAction iptablesFilterDenyAction
logPrefix logFilePath logSeverityFile logSeverityScreen logSeveritySys logDebugFilenameRegex endpointStatusPathPrefix
prometheusMetricsHost policySyncPathPrefix natOutgoingAddress deviceRouteSourceAddress deviceRouteSourceAddressIPv6
ipForwarding debugMemoryProfilePath iptablesNATOutgoingInterfaceFilter nftablesFlowTableDataIfacePattern
nftablesFilterAllowAction nftablesMangleAllowAction nftablesFilterDenyAction bpfConntrackLogLevel bpfCTLBLogFilter
bpfDataIfacePattern bpfL3IfacePattern bpfExternalServiceMode bpfMapSizeConntrackScaling bpfEnforceRPF
bpfDisableGROForIfaces cgroupV2Path bpfRedirectToPeer bpfProfiling routeSource wireguardInterfaceName
wireguardInterfaceNameV6 serviceLoopPrevention workloadSourceSpoofing mtuIfacePattern`.split(/\s+/),
);

const PROTO_PORT = struct(e('protocol', S), f('port', INT), e('net', S));

function felixField(name: string): Field {
  if (name === 'bpfLogLevel') return f(name, S); // the one field without omitempty: stored as ""
  if (FELIX_PLAIN_STRINGS.has(name)) return e(name, S);
  if (name === 'healthTimeoutOverrides') return e(name, slice(ANY));
  if (name === 'failsafeInboundHostPorts' || name === 'failsafeOutboundHostPorts') return e(name, ptr(slice(PROTO_PORT)));
  return e(name, ptr(ANY));
}

const FELIX_CONFIGURATION = object(struct(...FELIX_FIELDS.map(felixField)));

export const KIND_SHAPES: Readonly<Record<string, Shape>> = {
  HostEndpoint: HOST_ENDPOINT,
  Profile: PROFILE,
  GlobalNetworkPolicy: GLOBAL_NETWORK_POLICY,
  StagedGlobalNetworkPolicy: STAGED_GLOBAL_NETWORK_POLICY,
  GlobalNetworkSet: GLOBAL_NETWORK_SET,
  Tier: TIER,
  FelixConfiguration: FELIX_CONFIGURATION,
  NetworkSet: NETWORK_SET,
  WorkloadEndpoint: WORKLOAD_ENDPOINT,
};

/** `<Kind>List`: what calicoctl prints for `get KIND -o json`. */
export function listShape(kind: string): Shape {
  return struct(e('kind', S), e('apiVersion', S), f('metadata', LIST_META), f('items', slice(KIND_SHAPES[kind] ?? ANY)));
}
