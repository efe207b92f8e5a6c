/**
 * The relay's MQTT side: where its link connects, with which TLS files, and the embedded broker
 * when `listen` is set. By default the embedded broker requires client certificates from
 * brokerCa and applies the per-node ACL (mqtt/broker-acl.ts); the relay's own identity is the CN
 * of its client certificate (brokerCert). Plain anonymous MQTT only with `insecure`, logged.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { RelayConfig } from '../config/relay-config.ts';
import { mqttTlsFiles } from '../config/mqtt-tls.ts';
import { splitListen } from '../config/common-fields.ts';
import type { Logger } from '../platform/logger.ts';
import { readPrivateFile, readSmallFile } from '../platform/private-file.ts';
import type { TlsFiles } from '../mqtt/client.ts';
import { signedBy, startEmbeddedBroker, type EmbeddedBroker } from '../mqtt/embedded-broker.ts';
import { UsageError } from './io.ts';

export interface RelayBroker {
  readonly url: string;
  readonly tls?: TlsFiles;
  readonly embedded?: EmbeddedBroker;
}

/** The single CN of a certificate's subject, or undefined. */
export function certificateCn(pem: string): string | undefined {
  const cns = new X509Certificate(pem).subject.split('\n').filter((l) => l.startsWith('CN=')).map((l) => l.slice(3));
  return cns.length === 1 && cns[0] !== '' ? cns[0] : undefined;
}

export async function relayBroker(config: RelayConfig, signingKey: KeyObject, log: Logger): Promise<RelayBroker> {
  const files = mqttTlsFiles(config);
  if (!config.listen) {
    if (!files) log.warn({ broker: config.broker }, 'no client certificate for the broker (brokerCa/brokerCert/brokerKey): the broker cannot tell the relay from a node; see README "Authenticated channel (mTLS)"');
    return { url: config.broker!, ...(files ? { tls: files } : {}) };
  }
  const { host, port } = splitListen(config.listen);
  // Only snapshots this relay signed may be retained; refusals are logged (memory bound, embedded-broker.ts).
  const limits = { verifySnapshot: signedBy(signingKey), onRefused: (r: object) => log.warn(r, 'embedded broker refused a message') };
  if (config.insecure || !files) {
    log.warn({ listen: config.listen }, 'insecure: the embedded broker speaks plain MQTT to anyone who can reach it, without client certificates or per-node ACLs: any client can read every node\'s policy and write any status');
    const embedded = await startEmbeddedBroker(host, port, limits);
    log.info({ listen: config.listen, tls: false }, 'embedded MQTT broker listening');
    return { url: embedded.url, embedded };
  }
  let ca, cert, key, clientCert;
  try {
    ca = await readSmallFile(files.ca);
    cert = await readSmallFile(config.listenCert ?? files.cert);
    key = await readPrivateFile(config.listenKey ?? files.key);
    clientCert = await readSmallFile(files.cert);
    if (config.listenKey) await readPrivateFile(files.key);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let relayIdentity;
  try {
    relayIdentity = certificateCn(clientCert);
  } catch (e) {
    throw new UsageError(`${files.cert}: not a PEM certificate (${(e as Error).message})`);
  }
  if (relayIdentity === undefined) throw new UsageError(`${files.cert}: the relay's certificate needs exactly one CN (its identity)`);
  const fleetReaders = config.fleetReaders ?? [];
  if (fleetReaders.includes(relayIdentity)) throw new UsageError(`fleetReaders: ${JSON.stringify(relayIdentity)} is the relay's own identity; a fleet reader needs a certificate of its own`);
  const embedded = await startEmbeddedBroker(host, port, { ...limits, tls: { ca, cert, key, relayIdentity, topicPrefix: config.topicPrefix, fleetReaders } });
  log.info({ listen: config.listen, tls: true, relayIdentity, ...(fleetReaders.length ? { fleetReaders } : {}) }, 'embedded MQTT broker listening');
  // The relay dials the address it listens on (0.0.0.0 included), which its certificate need not name.
  return { url: embedded.url, embedded, tls: { ...files, checkHostname: false } };
}
