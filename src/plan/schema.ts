/**
 * The node plan: everything one host needs to enforce its policy, already resolved.
 *
 * This is the contract between the computation (calc/, which the relay also runs) and the
 * renderer (render/, which only the agent runs). It is a schema rather than a plain type
 * because in the relay/agent split it arrives from the network and must be validated like any
 * other external input. Selectors are already resolved to CIDRs and (ip, proto, port) members,
 * so a node learns nothing about endpoints its policy never mentions.
 *
 * Review notes:
 * - Everything here is plain JSON; ordering of arrays is meaningful and deterministic.
 * - Interface dispatch by expectedIP is NOT resolved here: it depends on the host's live
 *   addresses, which only the agent knows (see calc/dispatch.ts).
 */
import * as v from 'valibot';

const Name = v.pipe(v.string(), v.minLength(1), v.maxLength(253));
const Port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));
const Proto = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255));
/** A CIDR in canonical form (network address, explicit prefix length). */
const Cidr = v.pipe(v.string(), v.minLength(3), v.maxLength(43));

export const FamilySchema = v.picklist([4, 6]);
export const PortRangeSchema = v.tuple([Port, Port]);

export const EntityMatchSchema = v.object({
  nets: v.optional(v.array(Cidr)),
  notNets: v.optional(v.array(Cidr)),
  /** Positive selector set (selector && !notSelector folded together, as Felix does). */
  set: v.optional(v.string()),
  /** Negative selector set, only when there is no positive selector. */
  notSet: v.optional(v.string()),
  ports: v.optional(v.array(PortRangeSchema)),
  namedPortSet: v.optional(v.string()),
  notPorts: v.optional(v.array(PortRangeSchema)),
  notNamedPortSet: v.optional(v.string()),
});

export const IcmpMatchSchema = v.object({
  type: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(254)),
  code: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(255))),
});

export const ActionSchema = v.picklist(['Allow', 'Deny', 'Pass', 'Log']);

export const PlanRuleSchema = v.object({
  action: ActionSchema,
  ipVersion: v.optional(FamilySchema),
  protocol: v.optional(Proto),
  notProtocol: v.optional(Proto),
  icmp: v.optional(IcmpMatchSchema),
  notICMP: v.optional(IcmpMatchSchema),
  src: EntityMatchSchema,
  dst: EntityMatchSchema,
  /** Where the rule came from, for counters, comments and `explain`. */
  origin: v.string(),
});

export const PlanPolicySchema = v.object({
  /** Unique key of the policy chain: "<tier>/<name>" for policies, "profile/<name>" for profiles. */
  key: v.string(),
  name: Name,
  ingress: v.array(PlanRuleSchema),
  egress: v.array(PlanRuleSchema),
});

export const TierPlanSchema = v.object({
  tier: Name,
  defaultAction: v.picklist(['Deny', 'Pass']),
  /** Policy keys in evaluation order. */
  policies: v.array(v.string()),
});

const TierListSchema = v.array(TierPlanSchema);

export const EndpointPlanSchema = v.object({
  name: Name,
  /** "" (pick by expectedIPs), "*" (wildcard) or an interface name. */
  interfaceName: v.string(),
  expectedIPs: v.array(v.string()),
  ingress: v.object({ untracked: TierListSchema, preDNAT: TierListSchema, normal: TierListSchema, forward: TierListSchema }),
  egress: v.object({ untracked: TierListSchema, normal: TierListSchema, forward: TierListSchema }),
  /** Profile names in evaluation order; a name missing from `profiles` of the plan means deny. */
  profiles: v.array(Name),
  /**
   * Keys of the staged policies (the plan's `staged`) measured on this endpoint, per direction,
   * in evaluation order. Absent when there are none, so older plans keep their meaning and hash.
   */
  staged: v.optional(v.object({ ingress: v.array(v.string()), egress: v.array(v.string()) })),
});

export const IpSetPlanSchema = v.object({
  id: v.string(),
  /** The selector it was computed from (canonical form), for `explain`. */
  selector: v.string(),
  v4: v.array(Cidr),
  v6: v.array(Cidr),
});

export const NamedPortMemberSchema = v.tuple([v.string(), Proto, Port]);
export const PortSetPlanSchema = v.object({
  id: v.string(),
  selector: v.string(),
  ports: v.array(v.string()),
  v4: v.array(NamedPortMemberSchema),
  v6: v.array(NamedPortMemberSchema),
});

export const FailsafePlanRuleSchema = v.object({
  protocol: v.picklist(['tcp', 'udp']),
  port: Port,
  net: v.optional(Cidr),
});

export const NodePlanSchema = v.object({
  node: Name,
  endpoints: v.array(EndpointPlanSchema),
  policies: v.array(PlanPolicySchema),
  profiles: v.array(PlanPolicySchema),
  ipSets: v.array(IpSetPlanSchema),
  portSets: v.array(PortSetPlanSchema),
  failsafes: v.object({ inbound: v.array(FailsafePlanRuleSchema), outbound: v.array(FailsafePlanRuleSchema) }),
  /**
   * FelixConfiguration switches (calc/dataplane-settings.ts), present only when they differ from
   * Felix's default, so plans and cached snapshots from before they existed keep their meaning.
   */
  disableConntrackInvalidCheck: v.optional(v.boolean()),
  ipv6Support: v.optional(v.boolean()),
  /**
   * StagedGlobalNetworkPolicies that select an endpoint of this node, compiled like policies
   * ("<tier>/<name>" keys): rendered as count-only chains, never enforced. Absent when none.
   */
  staged: v.optional(v.array(PlanPolicySchema)),
});

export type Family = v.InferOutput<typeof FamilySchema>;
export type PortRange = v.InferOutput<typeof PortRangeSchema>;
export type EntityMatch = v.InferOutput<typeof EntityMatchSchema>;
export type IcmpMatch = v.InferOutput<typeof IcmpMatchSchema>;
export type PlanAction = v.InferOutput<typeof ActionSchema>;
export type PlanRule = v.InferOutput<typeof PlanRuleSchema>;
export type PlanPolicy = v.InferOutput<typeof PlanPolicySchema>;
export type TierPlan = v.InferOutput<typeof TierPlanSchema>;
export type EndpointPlan = v.InferOutput<typeof EndpointPlanSchema>;
export type IpSetPlan = v.InferOutput<typeof IpSetPlanSchema>;
export type PortSetPlan = v.InferOutput<typeof PortSetPlanSchema>;
export type FailsafePlanRule = v.InferOutput<typeof FailsafePlanRuleSchema>;
export type NodePlan = v.InferOutput<typeof NodePlanSchema>;

/** The FelixConfiguration switches a plan carries (calc/dataplane-settings.ts computes them). */
export type DataplaneSettings = Pick<NodePlan, 'disableConntrackInvalidCheck' | 'ipv6Support'>;
/** Whether tracked HEP chains drop conntrack INVALID packets (absent field: Felix's default, yes). */
export const dropsConntrackInvalid = (plan: DataplaneSettings): boolean => plan.disableConntrackInvalidCheck !== true;
/** Whether IPv6 is governed at all (absent field: Felix's default, yes). */
export const governsIpv6 = (plan: DataplaneSettings): boolean => plan.ipv6Support !== false;
