/**
 * `outpost relay`: watch the datastore, publish each node's signed snapshot over MQTT.
 * Stateless: run several against one datastore; they publish identical bytes.
 */
import { randomBytes } from 'node:crypto';
import { RELAY_SETTINGS, RelayConfigSchema } from '../config/relay-config.ts';
import { loadCommandConfig } from '../config/settings.ts';
import { createLogger } from '../platform/logger.ts';
import { loadPrivateKey } from '../platform/signing.ts';
import { connectMqtt } from '../mqtt/client.ts';
import { relayBroker } from './relay-broker.ts';
import { FolderSource } from '../datastore/folder-source.ts';
import { openLastGoodMemory } from '../cache/last-good-memory.ts';
import { openEtcdSource } from './etcd-datastore.ts';
import { openAutoHepStore } from '../autohep/etcd-writer.ts';
import { startAutoHepController } from '../autohep/controller.ts';

import type { DatastoreSource } from '../datastore/source.ts';
import { startRelay } from '../relay/relay.ts';
import { fileRevisionStore } from '../relay/revision-store.ts';
import { UsageError, type CliIO } from './io.ts';
import { untilSignal } from './signals.ts';
import { readFile } from 'node:fs/promises';
import { pathProblems } from '../config/path-checks.ts';
import { parsePolicyTests, PolicyTestsError, type PolicyTest } from '../explain/policy-tests.ts';

export const DEFAULT_RELAY_CONFIG = '/etc/outpost/relay.yaml';

type RelayConfig = Awaited<ReturnType<typeof loadCommandConfig<typeof RelayConfigSchema>>>['config'];

/** The relay's policy tests, or a usage error (exit 2) naming the file and the problem: a relay never starts untested. */
async function loadTests(path: string): Promise<PolicyTest[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`tests: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return parsePolicyTests(text, path);
  } catch (e) {
    if (e instanceof PolicyTestsError) throw new UsageError(`tests: ${e.message}`);
    throw e;
  }
}

/** --check-config: settings, the files and folders they name, the signing key and the tests; nothing is started. */
async function checkConfig(config: RelayConfig, io: CliIO): Promise<number> {
  const missing = pathProblems(RELAY_SETTINGS, config);
  if (missing.length) throw new UsageError(`files and folders named by the configuration are missing or unreadable:\n  ${missing.join('\n  ')}`);
  const key = await loadPrivateKey(config.signingKey);
  if (!key.ok) throw new UsageError(key.message);
  if (key.warning) io.err(`warning: ${key.warning}`);
  const tests = config.tests ? await loadTests(config.tests) : undefined;
  const datastore = config.resources ? `resources ${config.resources.join(', ')}` : config.etcd ? `etcd ${config.etcd.join(', ')}` : `calicoctl config ${config.calicoctlConfig}`;
  const broker = config.listen ? `embedded broker on ${config.listen}${config.insecure ? ' (insecure)' : ''}` : `broker ${config.broker}`;
  io.out(`config ok: ${datastore}, ${broker}, topic prefix ${config.topicPrefix}${tests ? `, ${tests.length} policy test${tests.length === 1 ? '' : 's'}` : ''}`);
  return 0;
}

export async function relayCommand(args: string[], io: CliIO): Promise<number> {
  const { config, extra } = await loadCommandConfig({ args, io, table: RELAY_SETTINGS, schema: RelayConfigSchema, defaultConfigFile: DEFAULT_RELAY_CONFIG, extra: { 'check-config': { type: 'boolean' } }, what: 'relay' });
  if (extra['check-config'] === true) return checkConfig(config, io);
  const log = createLogger(config.logLevel, config.logFormat);
  const key = await loadPrivateKey(config.signingKey);
  if (!key.ok) throw new UsageError(key.message);
  if (key.warning) log.warn(key.warning);
  // A tests file that cannot be read or parsed stops the relay here (exit 2): it never publishes untested.
  const tests = config.tests ? await loadTests(config.tests) : undefined;
  // On by default (127.0.0.1:9469), first: a configured address that is taken stops the relay before anything else starts.
  const metrics = await (await import('../observe/endpoints.ts')).startRelayEndpoint({ listen: config.metricsListen, log });

  // Before anything starts: a bad etcd TLS/auth setting is a usage error, with nothing to undo.
  const etcd = config.resources ? undefined : await openEtcdSource({ endpoints: config.etcd, caCertFile: config.etcdCACert, certFile: config.etcdCert, keyFile: config.etcdKey, username: config.etcdUsername, password: config.etcdPassword }, config.calicoctlConfig, io, log, Number.POSITIVE_INFINITY);
  // Auto host endpoints (etcd only; the config refuses them with a folder) are written through a client of their own.
  const hepStore = config.autoHostEndpoints && etcd ? await openAutoHepStore({ endpoints: config.etcd, caCertFile: config.etcdCACert, certFile: config.etcdCert, keyFile: config.etcdKey, username: config.etcdUsername, password: config.etcdPassword }, config.calicoctlConfig, io, log) : undefined;
  // The folder datastore has no history of its own: with --state, each file's last valid
  // resources outlive a restart (etcd's history serves the same purpose for the etcd source).
  const state = config.state && config.resources ? openLastGoodMemory(config.state, { error: (m) => log.error(m), warn: (m) => log.warn(m) }) : undefined;
  const source: DatastoreSource = etcd ?? new FolderSource(config.resources!, 250, state?.memory);
  const { url: brokerUrl, tls, embedded } = await relayBroker(config, key.key, log);
  // An unreachable etcd at start is an outage to wait out (with logged retries), not a reason to exit.
  const link = connectMqtt({ url: brokerUrl, clientId: `outpost-relay-${randomBytes(4).toString('hex')}`, clean: true, ...(tls ? { tls } : {}) });
  log.info({ datastore: config.resources ?? config.etcd ?? config.calicoctlConfig, broker: brokerUrl, topicPrefix: config.topicPrefix }, 'outpost relay starting');
  let relay;
  try {
    // The folder's revisions come from file times: the state dir also keeps the last one
    // published, so a restart (files older than that, the clock set back) never goes below it.
    const revisionStore = config.state && config.resources ? fileRevisionStore(config.state, (m) => log.warn(m)) : undefined;
    relay = await startRelay({ source, link, signingKey: key.key, topicPrefix: config.topicPrefix, log, quietMs: config.coalesceMs, resignIntervalMs: config.resignIntervalMs, ...(revisionStore ? { revisionStore } : {}), ...(tests ? { tests } : {}), ...(metrics ? { observers: [metrics.observer] } : {}) });
  } catch (e) {
    log.error({ err: (e as Error).message }, 'cannot read the datastore');
    await link.close(true);
    await embedded?.close();
    await metrics?.stop();
    state?.close();
    return 1;
  }
  const autoHep = hepStore ? startAutoHepController({ link, topicPrefix: config.topicPrefix, store: hepStore, log }) : undefined;
  await untilSignal();
  log.info('outpost relay stopping');
  await autoHep?.stop();
  await relay.stop();
  await link.close(true);
  await embedded?.close();
  await metrics?.stop();
  state?.close();
  return 0;
}
