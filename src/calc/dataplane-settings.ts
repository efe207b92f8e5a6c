/**
 * FelixConfiguration switches that change the ruleset rather than the policy (calico-semantics
 * §0 items 1 and 5), with Felix's precedence: its default, then FelixConfiguration `default`,
 * then `node.<name>`.
 *
 *   disableConntrackInvalidCheck  default false: tracked HEP chains drop conntrack INVALID
 *   ipv6Support                   default true; false: no IPv6 rules at all, IPv6 is ungoverned
 *
 * In the plan each is present only when it differs from Felix's default. The plan is a signed
 * wire format and agents keep the last one in their cache, so a plan without the field (from an
 * older relay or cache) must keep meaning what Felix does by default.
 */
import type { FelixConfiguration } from '../model/felix-configuration.ts';
import type { NodePlan } from '../plan/schema.ts';

export type DataplaneSettings = Pick<NodePlan, 'disableConntrackInvalidCheck' | 'ipv6Support'>;

const SWITCHES = [
  { key: 'disableConntrackInvalidCheck', felixDefault: false },
  { key: 'ipv6Support', felixDefault: true },
] as const;

export function dataplaneSettings(configs: readonly FelixConfiguration[], node: string, warn: (m: string) => void): DataplaneSettings {
  const out: { -readonly [K in keyof DataplaneSettings]?: boolean } = {};
  for (const { key, felixDefault } of SWITCHES) {
    let value: boolean = felixDefault;
    for (const name of ['default', `node.${node}`]) {
      const fc = configs.find((c) => c.metadata.name === name);
      // Read defensively: the spec schema may keep unknown fields without checking their type.
      const raw = fc ? (fc.spec as Record<string, unknown>)[key] : undefined;
      if (raw === undefined) continue;
      if (typeof raw === 'boolean') value = raw;
      else warn(`FelixConfiguration '${name}': ${key} must be true or false; ignored`);
    }
    if (value !== felixDefault) out[key] = value;
  }
  return out;
}

/** Whether tracked HEP chains drop conntrack INVALID packets (absent field: Felix's default, yes). */
export const dropsConntrackInvalid = (plan: DataplaneSettings): boolean => plan.disableConntrackInvalidCheck !== true;
/** Whether IPv6 is governed at all (absent field: Felix's default, yes). */
export const governsIpv6 = (plan: DataplaneSettings): boolean => plan.ipv6Support !== false;
