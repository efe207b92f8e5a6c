/**
 * The relay's embedded MQTT broker (Aedes) for one-machine sites: no Mosquitto to install.
 * Retained messages live in memory; the relay republishes every node's snapshot when it
 * connects, so a restarted relay+broker serves the current state again at once.
 */
import { Aedes } from 'aedes';
import { createServer, type Server } from 'node:net';

export interface EmbeddedBroker {
  /** mqtt://host:port, for the relay's own client. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
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
    url: `mqtt://${urlHost}:${bound}`,
    close: async () => {
      // The broker first: it ends every client connection. server.close() only calls back once
      // all connections are gone, so in the other order a connected agent would hang the stop.
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
