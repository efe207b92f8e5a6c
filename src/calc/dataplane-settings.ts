/**
 * FelixConfiguration switches that change the ruleset rather than the policy, with Felix's
 * precedence: its default, then FelixConfiguration `default`,
 * then `node.<name>`.
 *
 *   disableConntrackInvalidCheck  default false: tracked HEP chains drop conntrack INVALID
 *   ipv6Support                   default true; false: no IPv6 rules at all, IPv6 is ungoverned
 *
 * In the plan each is present only when it differs from Felix's default. The plan is a signed
 * wire format and agents keep the last one in their cache, so a plan without the field (from an
 * older relay or cache) must keep meaning what Felix does by default (plan/schema.ts reads it).
 */
import { felixConfigLayers, type FelixConfiguration } from '../model/felix-configuration.ts';
import type { DataplaneSettings } from '../plan/schema.ts';

const SWITCHES = [
  { key: 'disableConntrackInvalidCheck', felixDefault: false },
  { key: 'ipv6Support', felixDefault: true },
] as const;

export function dataplaneSettings(configs: readonly FelixConfiguration[], node: string): DataplaneSettings {
  const out: { -readonly [K in keyof DataplaneSettings]?: boolean } = {};
  const layers = felixConfigLayers(configs, node);
  for (const { key, felixDefault } of SWITCHES) {
    // The schema types both fields as booleans; the last layer that sets one wins.
    let value: boolean = felixDefault;
    for (const fc of layers) value = fc.spec[key] ?? value;
    if (value !== felixDefault) out[key] = value;
  }
  return out;
}
