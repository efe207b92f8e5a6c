/**
 * The relay's embedded MQTT broker (Aedes) for one-machine sites: no Mosquitto to install.
 * Retained messages live in memory; the relay republishes every node's snapshot when it
 * connects, so a restarted relay+broker serves the current state again at once.
 *
 * Memory is bounded against anyone who can reach the port (there is no broker auth yet):
 * - every connection sits behind the packet guard: a packet over maxPacketBytes closes that
 *   connection before it is buffered (Aedes's parser would hold all of it);
 * - a retained snapshot is kept only when it carries the relay's signature (checked over the
 *   raw bytes, nothing parsed), so forged blobs cannot pin memory "for good";
 * - any other retained message (agent status), and any last will, is at most retainedMaxBytes,
 *   and at most retainedMaxCount topics hold a retained message.
 * A refused publish closes the publisher's connection (MQTT 3.1.1 has no negative PUBACK) and
 * is reported through onRefused.
 *
 * With `tls` (the relay's default; plain MQTT needs its explicit --insecure) the broker speaks
 * MQTT over TLS only, every client must present a certificate signed by the configured CA, and
 * that certificate's CN is the client's identity for broker-acl.ts: a node reads only its own
 * snapshot and writes only its own status, only the relay writes snapshots and reads statuses.
 * CONNECT usernames and passwords are ignored: the certificate is the only identity.
 */
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { aclAllows, clientIdProblem } from './broker-acl.ts';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { guardStream } from './packet-guard.ts';
import { verifySnapshotSignature } from '../protocol/snapshot.ts';

export interface EmbeddedBroker {
  /** mqtt://host:port (mqtts:// with tls), for the relay's own client. */
  readonly url: string;
  /** Topics holding a retained message, and their bytes (for tests and status). */
  readonly retained: { readonly count: number; readonly bytes: number };
  close(): Promise<void>;
}

export interface BrokerLimits {
  /** Packets above this close the connection unread. Default 16 MiB + 64 KiB. */
  readonly maxPacketBytes?: number;
  /** Retained messages other than snapshots. Default 16 KiB. */
  readonly retainedMaxBytes?: number;
  /** Topics with a retained message. Default 40,000: a node's snapshot, expectation, status and interfaces, for 10,000 nodes. */
  readonly retainedMaxCount?: number;
  /** True when a retained snapshot payload is signed by the relay. Without it, retained snapshots are only held to maxPacketBytes. */
  readonly verifySnapshot?: (payload: Uint8Array) => boolean;
  readonly onRefused?: (r: { readonly client: string; readonly topic: string; readonly bytes: number; readonly reason: string }) => void;
  /** mTLS and per-node ACLs (see above). Without it: plain MQTT, anyone may do anything. */
  readonly tls?: BrokerTls;
}

export interface BrokerTls {
  /** PEM: the CA client certificates must chain to. */
  readonly ca: string | Buffer;
  /** PEM: the broker's certificate and key. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** The CN of the relay's client certificate: the one identity that may publish snapshots. */
  readonly relayIdentity: string;
  readonly topicPrefix: string;
  /** Identities that may read statuses, expectations and the relay's lists (broker-acl.ts). */
  readonly fleetReaders?: readonly string[];
}

/** The CN of a verified peer certificate, or undefined (none, or several CNs). */
function peerIdentity(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN as unknown;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

const SNAPSHOT_TOPIC = /\/nodes\/[^/]+\/snapshot$/;
const DEFAULT_BROKER_LIMITS = { maxPacketBytes: 16 * 1024 * 1024 + 64 * 1024, retainedMaxBytes: 16 * 1024, retainedMaxCount: 40_000 } as const;

/** Why a retained publish is refused, or undefined. Pure: `held` is topic → bytes retained now. */
function retainedRefusal(
  topic: string,
  payload: Uint8Array,
  held: ReadonlyMap<string, number>,
  limits: Required<Pick<BrokerLimits, 'retainedMaxBytes' | 'retainedMaxCount'>> & Pick<BrokerLimits, 'verifySnapshot'>,
): string | undefined {
  if (payload.length === 0) return undefined;
  if (SNAPSHOT_TOPIC.test(topic) && limits.verifySnapshot) {
    if (!limits.verifySnapshot(payload)) return 'retained snapshot is not signed by this relay';
  } else if (payload.length > limits.retainedMaxBytes) {
    return `retained message of ${payload.length} bytes is over the ${limits.retainedMaxBytes}-byte limit`;
  }
  if (!held.has(topic) && held.size >= limits.retainedMaxCount) return `already ${held.size} retained topics (limit ${limits.retainedMaxCount})`;
  return undefined;
}

/** verifySnapshot for a relay holding `signingKey`: only snapshots it signed are retained. */
export function signedBy(signingKey: KeyObject): (payload: Uint8Array) => boolean {
  const pub = signingKey.type === 'private' ? createPublicKey(signingKey) : signingKey;
  return (payload) => verifySnapshotSignature(payload, pub);
}

export async function startEmbeddedBroker(host: string, port: number, limits: BrokerLimits = {}): Promise<EmbeddedBroker> {
  const maxPacket = limits.maxPacketBytes ?? DEFAULT_BROKER_LIMITS.maxPacketBytes;
  const retainedLimits = {
    retainedMaxBytes: limits.retainedMaxBytes ?? DEFAULT_BROKER_LIMITS.retainedMaxBytes,
    retainedMaxCount: limits.retainedMaxCount ?? DEFAULT_BROKER_LIMITS.retainedMaxCount,
    ...(limits.verifySnapshot ? { verifySnapshot: limits.verifySnapshot } : {}),
  };
  const held = new Map<string, number>();
  const tls = limits.tls;
  // The stream Aedes sees (client.conn) → the CN of the certificate that opened it.
  const identities = new WeakMap<object, string>();
  const identityOf = (client: Client | null): string | undefined => (client ? identities.get((client as unknown as { conn: object }).conn) : undefined);
  const acl = tls ? { prefix: tls.topicPrefix, relayIdentity: tls.relayIdentity, fleetReaders: new Set(tls.fleetReaders ?? []) } : undefined;
  const refuse = (client: Client | null, topic: string, bytes: number, reason: string) =>
    limits.onRefused?.({ client: `${client?.id ?? ''}${acl ? ` (${identityOf(client) ?? 'no identity'})` : ''}`, topic: topic.slice(0, 200), bytes, reason });
  const broker = await Aedes.createBroker({
    // A last will is kept for as long as its client is connected: held to the same size as a retained status.
    preConnect: (client: Client, packet: { clientId?: string; will?: { topic: string; payload: Buffer | string } }, cb: (err: Error | null, ok: boolean) => void) => {
      if (acl) {
        const id = identityOf(client);
        const why =
          id === undefined
            ? 'no client certificate identity'
            : (clientIdProblem(id, packet.clientId ?? '', acl.relayIdentity) ??
              (packet.will && !aclAllows(id, 'publish', packet.will.topic, acl) ? `last will on ${packet.will.topic.slice(0, 200)} is not this identity's to publish` : undefined));
        if (why !== undefined) {
          refuse(client, packet.will?.topic ?? '', 0, why);
          return cb(new Error(why), false);
        }
      }
      const size = packet.will ? Buffer.byteLength(packet.will.payload) : 0;
      if (size <= retainedLimits.retainedMaxBytes) return cb(null, true);
      refuse(client, '', size, `last will of ${size} bytes is over the ${retainedLimits.retainedMaxBytes}-byte limit`);
      cb(new Error('last will too large'), false);
    },
    ...(acl
      ? {
          // Refused filters get a failure return code (0x80) in SUBACK; the connection stays.
          authorizeSubscribe: (client: Client, sub: Subscription, cb: (err: Error | null, sub?: Subscription | null) => void) => {
            if (aclAllows(identityOf(client), 'subscribe', sub.topic, acl)) return cb(null, sub);
            refuse(client, sub.topic, 0, 'subscription not allowed for this identity');
            cb(null, null);
          },
          // Checked again per message: a subscription is never wider than its identity's topics.
          authorizeForward: (client: Client, packet: AedesPublishPacket) => (aclAllows(identityOf(client), 'receive', packet.topic, acl) ? packet : null),
        }
      : {}),
    authorizePublish: (client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void) => {
      if (acl && !aclAllows(identityOf(client), 'publish', packet.topic, acl)) {
        const why = 'publish not allowed for this identity';
        refuse(client, packet.topic, 0, why);
        return cb(new Error(why));
      }
      if (!packet.retain) return cb(null);
      const payload = typeof packet.payload === 'string' ? new TextEncoder().encode(packet.payload) : new Uint8Array(packet.payload);
      const why = retainedRefusal(packet.topic, payload, held, retainedLimits);
      if (why !== undefined) {
        refuse(client, packet.topic, payload.length, why);
        return cb(new Error(why));
      }
      if (payload.length === 0) held.delete(packet.topic);
      else held.set(packet.topic, payload.length);
      cb(null);
    },
  });
  const serve = (socket: Socket, identity?: string) => {
    const guarded = guardStream(socket, maxPacket, () => undefined, 'close');
    if (identity !== undefined) identities.set(guarded, identity);
    guarded.on('error', (e: Error) => limits.onRefused?.({ client: socket.remoteAddress ?? '', topic: '', bytes: 0, reason: e.message }));
    broker.handle(guarded as never);
  };
  let server: Server;
  if (tls) {
    // requestCert + rejectUnauthorized: the handshake itself fails without a certificate from our CA.
    const ts = createTlsServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (socket) => {
      const id = peerIdentity(socket);
      if (id === undefined) {
        limits.onRefused?.({ client: socket.remoteAddress ?? '', topic: '', bytes: 0, reason: 'client certificate without a single CN' });
        socket.destroy();
        return;
      }
      serve(socket, id);
    });
    ts.on('tlsClientError', (e: Error, socket: TLSSocket) => limits.onRefused?.({ client: socket.remoteAddress ?? '', topic: '', bytes: 0, reason: `TLS handshake refused: ${e.message}` }));
    server = ts;
  } else {
    server = createServer((socket) => serve(socket));
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${tls ? 'mqtts' : 'mqtt'}://${urlHost}:${bound}`,
    get retained() {
      let bytes = 0;
      for (const b of held.values()) bytes += b;
      return { count: held.size, bytes };
    },
    close: async () => {
      // The broker first: it ends every client connection. server.close() only calls back once
      // all connections are gone, so in the other order a connected agent would hang the stop.
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
