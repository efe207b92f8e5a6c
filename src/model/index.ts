// Public surface of the resource model: schemas and inferred types for the Calico v3
// resources outpost understands, validation, manifest parsing and failsafe formats.
export * from './resource.ts';
export * from './validate.ts';
export * from './manifest.ts';
export * from './failsafe.ts';
export { RuleSchema, EntityRuleSchema, type Rule, type EntityRule } from './rule.ts';
export { ICMPFieldsSchema, ProtocolSchema, PortSchema, ACTIONS, PROTOCOL_NAMES, isNamedPort } from './match.ts';
export type { ICMPFields, HTTPMatch, Protocol, ProtocolName, Port, Action } from './match.ts';
export { HostEndpointSchema, EndpointPortSchema, type HostEndpoint, type EndpointPort } from './host-endpoint.ts';
export { ProfileSchema, type Profile } from './profile.ts';
export {
  GlobalNetworkPolicySchema,
  POLICY_TYPES,
  defaultPolicyTypes,
  type GlobalNetworkPolicy,
  type GlobalNetworkPolicySpec,
  type PolicyType,
} from './global-network-policy.ts';
export {
  StagedGlobalNetworkPolicySchema,
  STAGED_ACTIONS,
  isMeasured,
  type StagedAction,
  type StagedGlobalNetworkPolicy,
} from './staged-global-network-policy.ts';
export { GlobalNetworkSetSchema, type GlobalNetworkSet } from './global-network-set.ts';
export { TierSchema, BUILTIN_TIERS, type Tier } from './tier.ts';
export {
  FelixConfigurationSchema,
  ProtoPortSchema,
  type FelixConfiguration,
  type ProtoPort,
} from './felix-configuration.ts';
export { API_VERSION } from './common.ts';
export type { ObjectMeta } from './metadata.ts';
