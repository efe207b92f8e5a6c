/**
 * Relay configuration: where the resources come from (etcd, or a folder of manifests), where
 * snapshots go (an external broker, or one embedded with `listen`), and the signing key.
 */
import * as v from 'valibot';
import type { Setting } from './settings.ts';
import { BrokerUrl, ListenAddress, NonEmpty, TopicPrefix } from './common-fields.ts';
import { MQTT_TLS_SETTINGS, MqttTlsFields, mqttTlsProblems } from './mqtt-tls.ts';
import { AUTO_HEP_RELAY_SETTINGS, AutoHepRelayFields, autoHepRelayProblems } from '../autohep/config-fields.ts';
import { MetricsListenSchema } from '../observe/listen-address.ts';

const EtcdUrl = v.pipe(
  v.string(),
  v.check((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an etcd client URL such as http://127.0.0.1:2379'),
);

export const RelayConfigSchema = v.pipe(
  v.strictObject({
    etcd: v.optional(v.pipe(v.array(EtcdUrl), v.minLength(1))),
    calicoctlConfig: v.optional(NonEmpty),
    etcdCACert: v.optional(NonEmpty),
    etcdCert: v.optional(NonEmpty),
    etcdKey: v.optional(NonEmpty),
    etcdUsername: v.optional(NonEmpty),
    etcdPassword: v.optional(v.string()),
    resources: v.optional(v.pipe(v.array(NonEmpty), v.minLength(1))),
    broker: v.optional(BrokerUrl),
    ...MqttTlsFields,
    listen: v.optional(ListenAddress),
    listenCert: v.optional(NonEmpty),
    listenKey: v.optional(NonEmpty),
    insecure: v.optional(v.boolean(), false),
    signingKey: NonEmpty,
    state: v.optional(NonEmpty),
    topicPrefix: v.optional(TopicPrefix, 'outpost/v1'),
    coalesceMs: v.optional(v.pipe(v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of milliseconds'), v.transform(Number))]), v.number(), v.integer(), v.minValue(0), v.maxValue(10_000)), 20),
    logLevel: v.optional(v.picklist(['debug', 'info', 'warn', 'error']), 'info'),
    logFormat: v.optional(v.picklist(['json', 'text']), 'json'),
    // Unset: on, at DEFAULT_RELAY_METRICS_LISTEN (loopback), but a busy port there is a warning,
    // not a failure (two relays on one host). Set: its bind failure stops the relay. 'off': none.
    metricsListen: v.optional(MetricsListenSchema),
    // Policy tests (outpost test's file format): a datastore state whose tests fail is not published.
    tests: v.optional(NonEmpty),
    // Client-certificate CNs that may read statuses, expectations and the relay's lists on the embedded broker.
    fleetReaders: v.optional(v.array(v.pipe(v.string(), v.minLength(1, 'must not be empty'), v.maxLength(253), v.regex(/^[^/+#\u0000]+$/, 'must not contain "/", "+", "#" or NUL')))),
    ...AutoHepRelayFields,
    // Re-signing keeps agents' snapshots fresh (their maxSnapshotAge, default 24 h): a third of
    // that or less survives a couple of missed rounds. 0: never (agents then go stale).
    resignIntervalMs: v.optional(v.pipe(v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of milliseconds'), v.transform(Number))]), v.number(), v.integer(), v.minValue(0), v.maxValue(7 * 86_400_000), v.check((n) => n === 0 || n >= 100, 'must be 0 (off) or at least 100 ms')), 3_600_000),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const c = dataset.value;
    if (!!(c.etcd || c.calicoctlConfig) === !!c.resources) addIssue({ message: 'give exactly one datastore: etcd (Calico\'s v3 layout; or calicoctlConfig) or resources (a folder of manifests)' });
    if (!!c.broker === !!c.listen) addIssue({ message: 'give exactly one of broker (an external MQTT broker) or listen (embed one on host:port)' });
    for (const m of mqttTlsProblems(c)) addIssue({ message: m });
    for (const m of autoHepRelayProblems(c)) addIssue({ message: m });
    if (c.fleetReaders?.length && (!c.listen || c.insecure)) addIssue({ message: 'fleetReaders: applies to the embedded broker with client certificates (listen, not insecure); an external broker has its own ACL (README "Broker ACL")' });
    const tls = c.brokerCa !== undefined && c.brokerCert !== undefined && c.brokerKey !== undefined;
    // The embedded broker enforces mTLS and per-node ACLs unless told otherwise, explicitly.
    if (c.listen && !c.insecure && !tls) addIssue({ message: 'listen: the embedded broker requires client certificates: give brokerCa, brokerCert and brokerKey (scripts/pki.sh), or insecure: true for anonymous plain MQTT' });
    if (c.insecure && tls) addIssue({ message: 'insecure (anonymous plain MQTT) and brokerCa/brokerCert/brokerKey (mTLS): choose one' });
    if (c.insecure && !c.listen) addIssue({ message: 'insecure applies to the embedded broker (listen) only' });
    if ((c.listenCert === undefined) !== (c.listenKey === undefined)) addIssue({ message: 'listenCert and listenKey go together' });
    if (c.listenCert !== undefined && (!c.listen || c.insecure)) addIssue({ message: 'listenCert/listenKey are the embedded broker\'s TLS certificate: only with listen, and not with insecure' });
  }),
);

export type RelayConfig = v.InferOutput<typeof RelayConfigSchema>;

export const RELAY_SETTINGS: readonly Setting[] = [
  { key: 'etcd', env: 'OUTPOST_ETCD_ENDPOINTS', flag: '--etcd', kind: 'list', help: 'etcd client URLs (comma-separated or repeated); resources in Calico\'s v3 layout' },
  { key: 'calicoctlConfig', env: 'OUTPOST_CALICOCTL_CONFIG', flag: '--calicoctl-config', kind: 'string', help: 'instead of etcd: a calicoctl.cfg (CalicoAPIConfig, datastoreType etcdv3) for endpoints, TLS and user; without it the ETCD_* variables calicoctl reads fill in what the etcd settings leave unset', path: 'file' },
  { key: 'etcdCACert', env: 'OUTPOST_ETCD_CA_CERT', flag: '--etcd-ca-cert', kind: 'string', help: 'CA certificate (PEM) that signed etcd\'s server certificate (https:// endpoints)', path: 'file' },
  { key: 'etcdCert', env: 'OUTPOST_ETCD_CERT', flag: '--etcd-cert', kind: 'string', help: 'client certificate (PEM) for etcd\'s --client-cert-auth', path: 'file' },
  { key: 'etcdKey', env: 'OUTPOST_ETCD_KEY', flag: '--etcd-key', kind: 'string', help: 'its private key (PEM); refused unless mode 0600 or stricter', path: 'file' },
  { key: 'etcdUsername', env: 'OUTPOST_ETCD_USERNAME', flag: '--etcd-username', kind: 'string', help: 'etcd user (etcd auth enabled)' },
  { key: 'etcdPassword', env: 'OUTPOST_ETCD_PASSWORD', flag: '--etcd-password', kind: 'string', help: 'its password (prefer the environment or the config file: a flag shows in ps)' },
  { key: 'resources', env: 'OUTPOST_RESOURCES', flag: '--resources', kind: 'list', help: 'instead of etcd: file or folder of manifests, watched', path: 'file' },
  { key: 'broker', env: 'OUTPOST_BROKER', flag: '--broker', kind: 'string', help: 'external MQTT broker URL (mqtt://host:port)' },
  ...MQTT_TLS_SETTINGS,
  { key: 'listen', env: 'OUTPOST_LISTEN', flag: '--listen', kind: 'string', help: 'instead of broker: embed an MQTT broker on host:port' },
  { key: 'listenCert', env: 'OUTPOST_LISTEN_CERT', flag: '--listen-cert', kind: 'string', help: 'the embedded broker\'s certificate (PEM; default brokerCert: scripts/pki.sh\'s relay certificate serves both); clients must present a certificate from brokerCa', path: 'file' },
  { key: 'listenKey', env: 'OUTPOST_LISTEN_KEY', flag: '--listen-key', kind: 'string', help: 'the private key (PEM) of listenCert', path: 'file' },
  { key: 'insecure', env: 'OUTPOST_INSECURE', flag: '--insecure', kind: 'boolean', help: 'the embedded broker speaks plain MQTT to anyone, without client certificates or per-node ACLs (logged as a warning; labs and demos only)' },
  { key: 'signingKey', env: 'OUTPOST_SIGNING_KEY', flag: '--signing-key', kind: 'string', help: 'ed25519 private key (PEM, from `outpost keygen`) that signs snapshots', path: 'file' },
  { key: 'state', env: 'OUTPOST_STATE', flag: '--state', kind: 'string', help: 'with resources: a state directory that keeps each file\'s last valid resources and the last published revision across restarts (without it: only while the relay runs, and the revision floor comes from the broker\'s retained snapshots)', path: 'created' },
  { key: 'topicPrefix', env: 'OUTPOST_TOPIC_PREFIX', flag: '--topic-prefix', kind: 'string', help: 'MQTT topic prefix (default outpost/v1)' },
  { key: 'coalesceMs', env: 'OUTPOST_COALESCE_MS', flag: '--coalesce-ms', kind: 'string', help: 'quiet time that ends a burst of datastore changes before publishing (default 20)' },
  { key: 'resignIntervalMs', env: 'OUTPOST_RESIGN_INTERVAL_MS', flag: '--resign-interval-ms', kind: 'string', help: 'how often every node\'s current snapshot is signed again with a new issue time, even unchanged, so agents can tell a live relay from a replay (default 3600000; keep it under a third of the agents\' maxSnapshotAge; 0: off)' },
  ...AUTO_HEP_RELAY_SETTINGS,
  { key: 'logLevel', env: 'OUTPOST_LOG_LEVEL', flag: '--log-level', kind: 'string', help: 'debug|info|warn|error' },
  { key: 'logFormat', env: 'OUTPOST_LOG_FORMAT', flag: '--log-format', kind: 'string', help: 'json (default: one JSON object per line) or text (one readable line per record, for a terminal)' },
  { key: 'tests', env: 'OUTPOST_TESTS', flag: '--tests', kind: 'string', help: 'policy tests (the file `outpost test -f` reads): a datastore state whose tests fail is not published; the last passing one stays in force (logged, in metrics and in `outpost fleet`)', path: 'file' },
  { key: 'fleetReaders', env: 'OUTPOST_FLEET_READERS', flag: '--fleet-readers', kind: 'list', help: 'with listen: client-certificate CNs (comma-separated) that may read every node\'s status and expectation and the relay\'s lists on the embedded broker (`outpost fleet`); never snapshots, never writes' },
  { key: 'metricsListen', env: 'OUTPOST_METRICS_LISTEN', flag: '--metrics-listen', kind: 'string', help: 'serve /metrics, /livez and /readyz on HOST:PORT (default 127.0.0.1:9469; [::1]:PORT for IPv6, :PORT for every address; off: none)' },
];
