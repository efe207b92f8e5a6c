/**
 * The failsafe ports in force on a node: Felix's defaults, overridden
 * per field by FelixConfiguration `default`, then by `node.<name>`, then by the agent's local
 * configuration (the last word belongs to the machine's owner: a datastore edit must not be
 * able to remove the SSH failsafe of a host whose local config pins it).
 */
import {
  FELIX_DEFAULT_FAILSAFE_INBOUND,
  FELIX_DEFAULT_FAILSAFE_OUTBOUND,
  failsafeFromFelixConfig,
  type FailsafeRule,
} from '../model/failsafe.ts';
import { felixConfigLayers, type FelixConfiguration } from '../model/felix-configuration.ts';
import type { FailsafePlanRule } from '../plan/schema.ts';

export interface LocalFailsafes {
  readonly inbound?: readonly FailsafeRule[] | undefined;
  readonly outbound?: readonly FailsafeRule[] | undefined;
}

const toPlan = (r: FailsafeRule): FailsafePlanRule => (r.net === undefined ? { protocol: r.protocol, port: r.port } : { protocol: r.protocol, port: r.port, net: r.net });

export function effectiveFailsafes(
  configs: readonly FelixConfiguration[],
  node: string,
  local: LocalFailsafes,
  warn: (m: string) => void,
): { inbound: FailsafePlanRule[]; outbound: FailsafePlanRule[] } {
  let inbound: readonly FailsafeRule[] = FELIX_DEFAULT_FAILSAFE_INBOUND;
  let outbound: readonly FailsafeRule[] = FELIX_DEFAULT_FAILSAFE_OUTBOUND;
  for (const fc of felixConfigLayers(configs, node)) {
    const name = fc.metadata.name;
    const inList = fc.spec.failsafeInboundHostPorts;
    const outList = fc.spec.failsafeOutboundHostPorts;
    if (inList) {
      const r = failsafeFromFelixConfig(inList);
      r.warnings.forEach((w) => warn(`FelixConfiguration '${name}': failsafeInboundHostPorts: ${w}`));
      inbound = r.rules;
    }
    if (outList) {
      const r = failsafeFromFelixConfig(outList);
      r.warnings.forEach((w) => warn(`FelixConfiguration '${name}': failsafeOutboundHostPorts: ${w}`));
      outbound = r.rules;
    }
  }
  if (local.inbound) inbound = local.inbound;
  if (local.outbound) outbound = local.outbound;
  return { inbound: inbound.map(toPlan), outbound: outbound.map(toPlan) };
}

/**
 * The agent's last word on a plan computed elsewhere (the relay): local failsafe config replaces
 * the datastore's, and `always` rules (the agent's own path to its broker) are added so that no
 * policy can cut the agent off from its control channel.
 */
export function withLocalFailsafes(
  failsafes: { inbound: readonly FailsafePlanRule[]; outbound: readonly FailsafePlanRule[] },
  local: LocalFailsafes,
  always: { inbound?: readonly FailsafePlanRule[]; outbound?: readonly FailsafePlanRule[] } = {},
): { inbound: FailsafePlanRule[]; outbound: FailsafePlanRule[] } {
  const inbound = local.inbound ? local.inbound.map(toPlan) : [...failsafes.inbound];
  const outbound = local.outbound ? local.outbound.map(toPlan) : [...failsafes.outbound];
  const key = (r: FailsafePlanRule) => `${r.protocol}/${r.port}/${r.net ?? ''}`;
  const add = (list: FailsafePlanRule[], extra: readonly FailsafePlanRule[] | undefined) => {
    const have = new Set(list.map(key));
    for (const r of extra ?? []) if (!have.has(key(r))) list.push(r);
  };
  add(inbound, always.inbound);
  add(outbound, always.outbound);
  return { inbound, outbound };
}
