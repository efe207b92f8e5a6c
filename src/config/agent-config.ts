/**
 * Agent configuration: one valibot schema, filled from (highest first) command-line flags,
 * OUTPOST_* environment variables, the config file (YAML), then defaults (settings.ts). A root
 * daemon reads only these sources: nothing else on the machine changes its behaviour.
 *
 * Two sources of policy, exactly one per agent:
 * - signed snapshots (+ `trustKey`), cached in SQLite: from a relay over MQTT (`broker`), from
 *   offline bundles (`bundleDir`), or both; `bundleDir` alone is an air-gapped agent (no MQTT);
 * - `resources`: manifests on local disk, computed on the host (no relay, no network).
 */
import * as v from 'valibot';
import { isIP } from 'node:net';
import { parseFailsafeString } from '../model/failsafe.ts';
import { parseProbe } from '../agent/probes.ts';
import type { Setting } from './settings.ts';
import { parseDuration } from './duration.ts';
import { BrokerUrl, DnsName, NonEmpty, TopicPrefix } from './common-fields.ts';
import { MQTT_TLS_SETTINGS, MqttTlsFields, mqttTlsProblems } from './mqtt-tls.ts';
import { AUTO_HEP_AGENT_SETTINGS, AutoHepAgentFields, autoHepAgentProblems } from '../autohep/config-fields.ts';
import { MetricsListenSchema } from '../observe/listen-address.ts';

const FailsafeString = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const r = parseFailsafeString(dataset.value);
    if (!r.ok) addIssue({ message: r.error });
  }),
);

export const AgentConfigSchema = v.pipe(
  v.strictObject({
    node: DnsName,
    resources: v.optional(v.pipe(v.array(NonEmpty), v.minLength(1, 'at least one file or folder of resources is required'))),
    broker: v.optional(BrokerUrl),
    ...MqttTlsFields,
    // A list: during a relay key rotation the agent trusts the old and the new key (README).
    trustKey: v.optional(v.union([v.pipe(NonEmpty, v.transform((k) => [k])), v.pipe(v.array(NonEmpty), v.minLength(1, 'at least one trusted public key is required'))])),
    bundleDir: v.optional(NonEmpty),
    topicPrefix: v.optional(TopicPrefix, 'outpost/v1'),
    state: v.optional(NonEmpty, '/var/lib/outpost'),
    failsafeInbound: v.optional(FailsafeString),
    failsafeOutbound: v.optional(FailsafeString),
    loopback: v.optional(v.picklist(['exempt', 'policy']), 'exempt'),
    logLevel: v.optional(v.picklist(['debug', 'info', 'warn', 'error']), 'info'),
    logFormat: v.optional(v.picklist(['json', 'text']), 'json'),
    // Off unless set: an agent exposes nothing on the network it was not told to.
    metricsListen: v.optional(MetricsListenSchema),
    metricsPolicyCounters: v.optional(v.boolean(), false),
    nft: v.optional(NonEmpty, 'nft'),
    resolvers: v.optional(v.array(v.pipe(v.string(), v.check((a) => isIP(a) !== 0, 'must be an IP address')))),
    confirmWindowMs: v.optional(v.pipe(v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of milliseconds'), v.transform(Number))]), v.number(), v.integer(), v.minValue(0), v.maxValue(3_600_000)), 60_000),
    // At most 16: every one runs before each new revision and every second of its confirm window.
    probes: v.optional(v.pipe(v.array(v.pipe(v.string(), v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const p = parseProbe(dataset.value);
      if (typeof p === 'string') addIssue({ message: p });
    }))), v.maxLength(16, 'at most 16 probes')), []),
    nftTimeoutMs: v.optional(v.pipe(v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of milliseconds'), v.transform(Number))]), v.number(), v.integer(), v.minValue(100), v.maxValue(600_000)), 30_000),
    // Freshness (src/agent/freshness.ts): "24h", "90s", 0/off; the output is milliseconds.
    maxSnapshotAge: v.optional(v.pipe(v.string(), v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const d = parseDuration(dataset.value);
      if (d instanceof Error) addIssue({ message: d.message });
    }), v.transform((s) => parseDuration(s) as number)), '24h'),
    // While stale: a folder of manifests computed on the host (src/agent/degraded-policy.ts).
    degradedPolicy: v.optional(v.pipe(v.array(NonEmpty), v.minLength(1))),
    ...AutoHepAgentFields,
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const c = dataset.value;
    if (c.resources && c.broker) addIssue({ message: 'give either broker (relay mode) or resources (local mode), not both' });
    if (c.resources && c.bundleDir) addIssue({ message: 'give either bundleDir (signed bundles) or resources (local mode), not both' });
    const signed = c.broker !== undefined || c.bundleDir !== undefined;
    if (c.degradedPolicy && !signed) addIssue({ message: 'degradedPolicy: only in relay mode (with broker or bundleDir); it replaces a stale signed snapshot' });
    if (!c.resources && !signed) addIssue({ message: 'a source of policy is required: broker (with trustKey), bundleDir (with trustKey; air-gapped) or resources' });
    if (c.broker && !c.trustKey) addIssue({ message: 'trustKey: the relay\'s public key is required with broker; unsigned state is never applied' });
    if (c.bundleDir && !c.broker && !c.trustKey) addIssue({ message: 'trustKey: the relay\'s public key is required with bundleDir; unsigned bundles are never applied' });
    // Air-gapped (bundleDir alone): settings about a broker would be silently unused, so they are refused.
    if (!c.broker && c.bundleDir && (c.brokerCa || c.brokerCert || c.brokerKey)) addIssue({ message: 'brokerCa/brokerCert/brokerKey: only with a broker (this agent has bundleDir alone: no MQTT link)' });
    if (!c.broker && c.bundleDir && c.resolvers) addIssue({ message: 'resolvers: only with a broker (they are DNS servers on the broker path; this agent has bundleDir alone)' });
    if (c.metricsPolicyCounters && !c.metricsListen) addIssue({ message: 'metricsPolicyCounters: only with metricsListen (the counters are served on its /metrics)' });
    for (const m of mqttTlsProblems(c)) addIssue({ message: m });
    for (const m of autoHepAgentProblems(c)) addIssue({ message: m });
  }),
);

export type AgentConfig = v.InferOutput<typeof AgentConfigSchema>;

export const AGENT_SETTINGS: readonly Setting[] = [
  { key: 'node', env: 'OUTPOST_NODE', flag: '--node', kind: 'string', help: 'this host\'s node name (HEPs with spec.node equal to it apply); default: the hostname' },
  { key: 'broker', env: 'OUTPOST_BROKER', flag: '--broker', kind: 'string', help: 'MQTT broker URL (mqtt://host:port); relay mode' },
  ...MQTT_TLS_SETTINGS,
  { key: 'trustKey', env: 'OUTPOST_TRUST_KEY', flag: '--trust-key', kind: 'list', help: 'the relay\'s ed25519 public key (PEM); snapshots and bundles not signed by one of them are refused (repeatable during a key rotation; env: comma-separated)', path: 'file' },
  { key: 'bundleDir', env: 'OUTPOST_BUNDLE_DIR', flag: '--bundle-dir', kind: 'string', help: 'relay mode: a folder (e.g. a USB mount) polled for <node>.bundle, a signed offline bundle applied like a relay snapshot; with trustKey and no broker: an air-gapped agent on bundles alone', path: 'file' },
  { key: 'topicPrefix', env: 'OUTPOST_TOPIC_PREFIX', flag: '--topic-prefix', kind: 'string', help: 'MQTT topic prefix (default outpost/v1)' },
  { key: 'resources', env: 'OUTPOST_RESOURCES', flag: '--resources', kind: 'list', help: 'local mode: file or folder of resources (repeatable; env: comma-separated)', path: 'file' },
  { key: 'state', env: 'OUTPOST_STATE', flag: '--state', kind: 'string', help: 'state directory: SQLite cache, nft work files (default /var/lib/outpost)', path: 'created' },
  { key: 'failsafeInbound', env: 'OUTPOST_FAILSAFE_INBOUND', flag: '--failsafe-inbound', kind: 'string', help: 'inbound failsafes, Felix format "tcp:22,udp:68" or "none"; overrides FelixConfiguration' },
  { key: 'failsafeOutbound', env: 'OUTPOST_FAILSAFE_OUTBOUND', flag: '--failsafe-outbound', kind: 'string', help: 'outbound failsafes, Felix format; overrides FelixConfiguration' },
  { key: 'loopback', env: 'OUTPOST_LOOPBACK', flag: '--loopback', kind: 'string', help: '"exempt" (default): lo is never governed by the * HEP; "policy": as Felix' },
  { key: 'logLevel', env: 'OUTPOST_LOG_LEVEL', flag: '--log-level', kind: 'string', help: 'debug|info|warn|error' },
  { key: 'logFormat', env: 'OUTPOST_LOG_FORMAT', flag: '--log-format', kind: 'string', help: 'json (default: one JSON object per line) or text (one readable line per record, for a terminal)' },
  { key: 'metricsListen', env: 'OUTPOST_METRICS_LISTEN', flag: '--metrics-listen', kind: 'string', help: 'serve /metrics, /livez and /readyz on HOST:PORT, e.g. 127.0.0.1:9469 or [::1]:9469 (:PORT is every address); default off' },
  { key: 'metricsPolicyCounters', env: 'OUTPOST_METRICS_POLICY_COUNTERS', flag: '--metrics-policy-counters', kind: 'boolean', help: 'also serve per-policy packet counters read from nft at each scrape (with metricsListen)' },
  { key: 'nft', env: 'OUTPOST_NFT', flag: '--nft', kind: 'string', help: 'the nft binary (default: nft on PATH)', path: 'command' },
  { key: 'nftTimeoutMs', env: 'OUTPOST_NFT_TIMEOUT_MS', flag: '--nft-timeout-ms', kind: 'string', help: 'an nft run that takes longer is killed, counted as failed and retried (default 30000)' },
  { key: 'confirmWindowMs', env: 'OUTPOST_CONFIRM_WINDOW_MS', flag: '--confirm-window-ms', kind: 'string', help: 'relay mode: after a new revision is applied, a probe that passed before and fails within this window restores the previous ruleset (default 60000; 0: off)' },
  { key: 'probes', env: 'OUTPOST_PROBES', flag: '--probes', kind: 'list', help: 'health probes for the confirm window besides the broker link (if any): tcp:ADDR:PORT, icmp:ADDR (repeatable; env: comma-separated)' },
  { key: 'maxSnapshotAge', env: 'OUTPOST_MAX_SNAPSHOT_AGE', flag: '--max-snapshot-age', kind: 'string', help: 'relay mode: an agent with no state refuses a snapshot issued longer ago, and an agent whose snapshot gets older reports stale (keeps enforcing it); e.g. 24h (default), 90s; 0 or off: no age rule' },
  { key: 'degradedPolicy', env: 'OUTPOST_DEGRADED_POLICY', flag: '--degraded-policy', kind: 'list', help: 'relay mode: file or folder of manifests computed on this host and enforced instead of the snapshot while it is stale (maxSnapshotAge); the snapshot is enforced again when a fresh one arrives (repeatable; env: comma-separated)', path: 'file' },
  ...AUTO_HEP_AGENT_SETTINGS,
  { key: 'resolvers', env: 'OUTPOST_RESOLVERS', flag: '--resolvers', kind: 'list', help: 'DNS servers on the broker path when the broker is a host name (default: the nameservers in /etc/resolv.conf)' },
];
