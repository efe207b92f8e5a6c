/**
 * Agent configuration: one valibot schema, filled from (highest first) command-line flags,
 * OUTPOST_* environment variables, the config file (YAML), then defaults. A root daemon reads
 * only these sources: nothing else on the machine changes its behaviour.
 */
import * as v from 'valibot';
import { parseFailsafeString } from '../model/failsafe.ts';

const FailsafeString = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const r = parseFailsafeString(dataset.value);
    if (!r.ok) addIssue({ message: r.error });
  }),
);

export const AgentConfigSchema = v.object({
  node: v.pipe(v.string(), v.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS-1123 subdomain (lower case)'), v.maxLength(253)),
  resources: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1, 'at least one file or folder of resources is required')),
  state: v.optional(v.string(), '/var/lib/outpost'),
  failsafeInbound: v.optional(FailsafeString),
  failsafeOutbound: v.optional(FailsafeString),
  loopback: v.optional(v.picklist(['exempt', 'policy']), 'exempt'),
  logLevel: v.optional(v.picklist(['debug', 'info', 'warn', 'error']), 'info'),
  nft: v.optional(v.pipe(v.string(), v.minLength(1)), 'nft'),
});

export type AgentConfig = v.InferOutput<typeof AgentConfigSchema>;

/** Config-file key, env variable and flag for each setting, for the README and --help. */
export const AGENT_SETTINGS = [
  { key: 'node', env: 'OUTPOST_NODE', flag: '--node', help: 'this host\'s node name (HEPs with spec.node equal to it apply); default: the hostname' },
  { key: 'resources', env: 'OUTPOST_RESOURCES', flag: '--resources', help: 'file or folder of resources (repeatable; env: comma-separated)' },
  { key: 'state', env: 'OUTPOST_STATE', flag: '--state', help: 'state directory (default /var/lib/outpost)' },
  { key: 'failsafeInbound', env: 'OUTPOST_FAILSAFE_INBOUND', flag: '--failsafe-inbound', help: 'inbound failsafes, Felix format "tcp:22,udp:68" or "none"; overrides FelixConfiguration' },
  { key: 'failsafeOutbound', env: 'OUTPOST_FAILSAFE_OUTBOUND', flag: '--failsafe-outbound', help: 'outbound failsafes, Felix format; overrides FelixConfiguration' },
  { key: 'loopback', env: 'OUTPOST_LOOPBACK', flag: '--loopback', help: '"exempt" (default): lo is never governed by the * HEP; "policy": as Felix' },
  { key: 'logLevel', env: 'OUTPOST_LOG_LEVEL', flag: '--log-level', help: 'debug|info|warn|error' },
  { key: 'nft', env: 'OUTPOST_NFT', flag: '--nft', help: 'the nft binary (default: nft on PATH)' },
] as const;

export type RawSettings = Partial<Record<(typeof AGENT_SETTINGS)[number]['key'], unknown>>;

export function mergeSettings(file: RawSettings, env: Readonly<Record<string, string | undefined>>, flags: RawSettings, hostname: string): RawSettings {
  const fromEnv: RawSettings = {};
  for (const s of AGENT_SETTINGS) {
    const val = env[s.env];
    if (val === undefined || val === '') continue;
    fromEnv[s.key] = s.key === 'resources' ? val.split(',').map((x) => x.trim()).filter(Boolean) : val;
  }
  const merged: RawSettings = { node: hostname, ...file, ...fromEnv };
  for (const [k, val] of Object.entries(flags)) if (val !== undefined) merged[k as keyof RawSettings] = val;
  if (typeof merged.resources === 'string') merged.resources = [merged.resources];
  return merged;
}

export function parseAgentConfig(raw: RawSettings): { ok: true; config: AgentConfig } | { ok: false; errors: string[] } {
  const r = v.safeParse(AgentConfigSchema, raw);
  if (r.success) return { ok: true, config: r.output };
  return { ok: false, errors: r.issues.map((i) => `${v.getDotPath(i) ?? '(config)'}: ${i.message}`) };
}
