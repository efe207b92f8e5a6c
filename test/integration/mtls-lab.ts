/**
 * The mTLS lab the broker tests share: certificates from scripts/pki.sh, one MQTT client session
 * (mqtt-tls-client.ts) run inside a lab host, the TLS flags of an outpost command, and a hub
 * with both brokers (the real Mosquitto with the README's TLS listener and ACL, and the relay's
 * embedded one), each with a relay publishing the same resources.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Lab, LabProcess } from '../lab/lab.ts';
import { Mosquitto } from '../lab/mosquitto.ts';
import { README_ACL } from './readme-acl.ts';
import { HUB, SyncLab, waitLog } from './sync-harness.ts';

export const PKI_SH = join(import.meta.dir, '../../scripts/pki.sh');
const CLIENT = join(import.meta.dir, 'mqtt-tls-client.ts');
/** Where the two brokers of mtlsHub listen. */
export const MOSQUITTO_URL = `mqtts://${HUB.v4}:8883`;
export const EMBEDDED_URL = `mqtts://${HUB.v4}:8884`;

/** What mqtt-tls-client.ts prints for one session. */
export interface TlsSession {
  connected: boolean;
  error?: string;
  granted: number[];
  received: { topic: string; payload: string }[];
  published: { topic: string; acked: boolean }[];
  closed: boolean;
}

/** The CA, and the certificate and key scripts/pki.sh wrote for `who` (`relay` or a node). */
export const pkiFiles = (pki: string, who: string) =>
  who === 'relay'
    ? { ca: join(pki, 'ca.crt'), cert: join(pki, 'relay.crt'), key: join(pki, 'relay.key') }
    : { ca: join(pki, 'ca.crt'), cert: join(pki, 'nodes', `${who}.crt`), key: join(pki, 'nodes', `${who}.key`) };

/** An outpost command's broker flags for `who`'s certificate. */
export const brokerTlsFlags = (pki: string, who: string) => {
  const f = pkiFiles(pki, who);
  return ['--broker-ca', f.ca, '--broker-cert', f.cert, '--broker-key', f.key];
};

/** One MQTT session from `host`, as the plan says ({url, ca?, cert?, key?, clientId?, subscribe?, publish?, waitMs?, will?}). */
export async function tlsSession(lab: Lab, plan: Record<string, unknown>, host = 'hub'): Promise<TlsSession> {
  const r = await lab.exec(host, [process.execPath, CLIENT, JSON.stringify(plan)], { timeoutMs: 20_000 });
  return JSON.parse(r.stdout) as TlsSession;
}

/**
 * A CA, the relay's and Mosquitto's certificates (valid for the hub's address) and one per node,
 * in `<lab dir>/pki`; Mosquitto on 8883 with TLS and the README's ACL.
 */
export async function tlsMosquitto(h: SyncLab, nodes: readonly string[]): Promise<{ pki: string; mosquitto: Mosquitto }> {
  const pki = h.path('pki');
  const pkiSh = (...args: string[]) => execa(PKI_SH, ['--dir', pki, ...args]);
  await pkiSh('ca');
  await pkiSh('relay', '--san', `IP:${HUB.v4},IP:127.0.0.1`);
  await pkiSh('broker', '--san', `IP:${HUB.v4},IP:127.0.0.1`);
  await pkiSh('node', ...nodes);
  await writeFile(h.path('acl'), README_ACL);
  const mosquitto = await Mosquitto.start(h.lab, 'hub', h.dir, [HUB.v4, '127.0.0.1'], 8883, { cafile: join(pki, 'ca.crt'), certfile: join(pki, 'broker.crt'), keyfile: join(pki, 'broker.key'), aclFile: h.path('acl') });
  return { pki, mosquitto };
}

/**
 * Two relays serving `resources` (YAML) with the relay's certificate: one on the embedded broker
 * (EMBEDDED_URL, with `embeddedArgs` too), one through tlsMosquitto's broker. They go into
 * `procs` (for the caller to stop) and have published once when this returns.
 */
export async function tlsRelays(h: SyncLab, pki: string, resources: string, procs: LabProcess[], args: { embedded?: readonly string[]; both?: readonly string[] } = {}): Promise<void> {
  const dir = h.path('policies');
  await mkdir(dir);
  await writeFile(join(dir, 'heps.yaml'), resources);
  const tls = brokerTlsFlags(pki, 'relay');
  const both = args.both ?? [];
  const embedded = h.relay(['--resources', dir, '--listen', `${HUB.v4}:8884`, ...(args.embedded ?? []), ...both, ...tls]);
  const viaMosquitto = h.relay(['--resources', dir, '--broker', 'mqtts://127.0.0.1:8883', ...both, ...tls]);
  procs.push(embedded, viaMosquitto);
  await Promise.all([waitLog(embedded, (l) => l.msg === 'snapshots published'), waitLog(viaMosquitto, (l) => l.msg === 'snapshots published')]);
}
