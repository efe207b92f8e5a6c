/**
 * `outpost fleet`: every node's sync state, from the broker's retained messages (agents'
 * statuses, what the relay expects each node to hold, the relay's held-back list and status).
 * Connects like the agent and the relay (same broker and TLS settings; its certificate's CN must
 * be one of the relay's `fleetReaders` on the embedded broker, or have the README ACL's fleet
 * lines on Mosquitto), reads until the retained messages stop arriving, prints, exits:
 * 0 every node in sync and nothing held back, 1 otherwise, 2 when the broker cannot be read.
 */
import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { loadCommandConfig, type Setting } from '../config/settings.ts';
import { BrokerUrl, TopicPrefix } from '../config/common-fields.ts';
import { MQTT_TLS_SETTINGS, MqttTlsFields, mqttTlsFiles, mqttTlsProblems } from '../config/mqtt-tls.ts';
import { connectMqtt } from '../mqtt/client.ts';
import { heldBackTopic, nodesWildcard, relayStatusTopic } from '../protocol/topics.ts';
import type { CommandHelp } from './help.ts';
import { UsageError, type CliIO } from './io.ts';
import { buildFleetReport, formatFleetText } from './fleet-view.ts';

const Ms = (max: number) => v.pipe(v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of milliseconds'), v.transform(Number))]), v.number(), v.integer(), v.minValue(1), v.maxValue(max));

const FleetConfigSchema = v.pipe(
  v.strictObject({
    broker: BrokerUrl,
    ...MqttTlsFields,
    topicPrefix: v.optional(TopicPrefix, 'outpost/v1'),
    timeoutMs: v.optional(Ms(600_000), 10_000),
    quietMs: v.optional(Ms(60_000), 500),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const m of mqttTlsProblems(dataset.value)) addIssue({ message: m });
  }),
);

const FLEET_SETTINGS: readonly Setting[] = [
  { key: 'broker', env: 'OUTPOST_BROKER', flag: '--broker', kind: 'string', help: 'MQTT broker URL (mqtts://host:8883; the relay\'s embedded broker: its listen address)' },
  ...MQTT_TLS_SETTINGS,
  { key: 'topicPrefix', env: 'OUTPOST_TOPIC_PREFIX', flag: '--topic-prefix', kind: 'string', help: 'MQTT topic prefix (default outpost/v1)' },
  { key: 'timeoutMs', env: 'OUTPOST_FLEET_TIMEOUT_MS', flag: '--timeout-ms', kind: 'string', help: 'longest wait for the broker and its retained messages (default 10000)' },
  { key: 'quietMs', env: 'OUTPOST_FLEET_QUIET_MS', flag: '--quiet-ms', kind: 'string', help: 'the retained messages are all in once none arrived for this long (default 500)' },
];

export const fleetHelp: CommandHelp = {
  usage: 'outpost fleet --broker URL [--broker-ca FILE --broker-cert FILE --broker-key FILE] [-o json]',
  summary: 'One line per node: its state, the hash it enforces against the hash the relay expects, revision, age and last error; nodes behind, offline, erroring or stale stand out, then the resources the relay holds back as invalid.',
  description:
    'Reads the broker\'s retained messages: each agent\'s status, what the relay expects each node to hold, the relay\'s held-back list and its policy-test status. The client certificate\'s CN must be allowed to read them: one of the relay\'s fleetReaders on its embedded broker, or the README ACL\'s `user fleet` lines on Mosquitto.\n' +
    'Exit status: 0 every node in sync and nothing held back; 1 a node is not in sync, a resource is held back as invalid, the relay\'s policy tests fail or a retained message cannot be read; 2 the broker cannot be read (or holds nothing under the prefix).',
  flags: [
    { flag: '--config FILE', help: 'YAML file with these settings (default /etc/outpost/fleet.yaml when it exists; env OUTPOST_CONFIG)' },
    ...FLEET_SETTINGS.map((s) => ({ flag: `${s.flag} ${s.kind === 'boolean' ? '' : s.key === 'broker' ? 'URL' : s.key.endsWith('Ms') ? 'MS' : s.key === 'topicPrefix' ? 'PREFIX' : 'FILE'}`.trim(), help: s.help })),
    { flag: '-o, --output text|json', help: 'text (default): a table, a summary line, held-back resources; json: the same facts, one object' },
  ],
  examples: [
    'outpost fleet --broker mqtts://relay.example:8883 --broker-ca ca.crt --broker-cert fleet.crt --broker-key fleet.key',
    'outpost fleet --broker mqtt://127.0.0.1:1883 -o json | jq \'.nodes[] | select(.inSync | not)\'',
  ],
};

export async function fleetCommand(args: string[], io: CliIO): Promise<number> {
  const { config, extra, positionals } = await loadCommandConfig({ args, io, table: FLEET_SETTINGS, schema: FleetConfigSchema, defaultConfigFile: '/etc/outpost/fleet.yaml', extra: { output: { type: 'string', short: 'o' } }, what: 'fleet' });
  if (positionals.length) throw new UsageError(`outpost fleet takes no arguments (got ${JSON.stringify(positionals[0])})`);
  const output = (extra.output as string | undefined) ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`-o/--output: ${JSON.stringify(output)} is not text or json`);
  const prefix = config.topicPrefix;
  const tls = mqttTlsFiles(config);

  const oversized: { topic: string; problem: string }[] = [];
  const link = connectMqtt({ url: config.broker, clientId: `outpost-fleet-${randomBytes(4).toString('hex')}`, clean: true, maxPacketBytes: 256 * 1024, onOversized: (o) => oversized.push({ topic: o.topic.slice(0, 300), problem: `${o.bytes} bytes: over the 256 KiB a status or list can be; skipped` }), ...(tls ? { tls } : {}), backoff: { initialMs: 200, maxMs: 2_000 } });
  const messages = new Map<string, Uint8Array>();
  let lastError: string | undefined;
  let lastArrival = 0;
  link.onState((s) => {
    if (!s.connected && s.error) lastError = s.error;
  });
  link.onMessage((topic, payload) => {
    messages.set(topic, payload);
    lastArrival = performance.now();
  });
  const start = performance.now();
  const deadline = start + config.timeoutMs;
  try {
    while (!link.connected && performance.now() < deadline) await Bun.sleep(20);
    if (!link.connected) {
      io.err(`outpost fleet: cannot connect to ${config.broker} within ${config.timeoutMs} ms${lastError ? `: ${lastError}` : ''}`);
      return 2;
    }
    const subscribed = performance.now();
    await link.subscribe([nodesWildcard(prefix, 'status'), nodesWildcard(prefix, 'expected'), heldBackTopic(prefix), relayStatusTopic(prefix)], 1);
    // Retained messages come right after the subscription: done once none came for quietMs.
    for (;;) {
      const now = performance.now();
      if (now >= deadline) break;
      if (now - Math.max(lastArrival, subscribed) >= config.quietMs) break;
      await Bun.sleep(Math.min(50, config.quietMs));
    }
  } catch (e) {
    io.err(`outpost fleet: cannot read ${config.broker}: ${(e as Error).message}`);
    return 2;
  } finally {
    await link.close(true).catch(() => undefined);
  }
  if (oversized.length === 0 && [...messages.values()].every((p) => p.length === 0)) {
    io.err(`outpost fleet: ${config.broker} holds no status, expectation or relay message under ${prefix}/ (wrong --topic-prefix, a broker ACL that does not let this certificate read them (the relay's fleetReaders), or nothing published yet)`);
    return 2;
  }
  const built = buildFleetReport(prefix, messages);
  const report = oversized.length ? { ...built, unreadable: [...built.unreadable, ...oversized], allInSync: false } : built;
  if (output === 'json') io.out(JSON.stringify(report, null, 2));
  else io.out(formatFleetText(report, Date.now()));
  return report.allInSync ? 0 : 1;
}
