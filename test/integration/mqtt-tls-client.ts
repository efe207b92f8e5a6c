#!/usr/bin/env bun
/**
 * One MQTT client session for mqtt-tls.test.ts, run inside a lab host: connects with the given
 * TLS files (or none), subscribes, publishes, collects what arrives, and prints one JSON line:
 *   { connected, error?, granted: [qos|128], received: [{topic, payload}], published: [{topic, acked}], closed }
 * Usage: mqtt-tls-client.ts JSON  (JSON: {url, ca?, cert?, key?, clientId?, subscribe?, publish?, waitMs?})
 */
import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';

interface Plan {
  url: string;
  ca?: string;
  cert?: string;
  key?: string;
  clientId?: string;
  subscribe?: string[];
  publish?: { topic: string; payload: string; retain?: boolean }[];
  waitMs?: number;
  will?: { topic: string; payload: string };
}
const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
const out: { connected: boolean; error?: string; granted: number[]; received: { topic: string; payload: string }[]; published: { topic: string; acked: boolean }[]; closed: boolean } = {
  connected: false,
  granted: [],
  received: [],
  published: [],
  closed: false,
};
const u = new URL(plan.url);
let client: mqtt.MqttClient | undefined;
// A refused CONNECT can leave MQTT.js waiting forever (the broker just closes): the plan's own deadline.
setTimeout(() => {
  out.error ??= 'timed out';
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}, 4000 + (plan.waitMs ?? 600) + 2000 * ((plan.subscribe?.length ?? 0) + (plan.publish?.length ?? 0)));
try {
  client = mqtt.connect({
    protocol: u.protocol.replace(':', '') as 'mqtts',
    hostname: u.hostname,
    port: Number(u.port),
    clientId: plan.clientId ?? `probe-${process.pid}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 4000,
    protocolVersion: 4,
    ...(plan.ca ? { ca: readFileSync(plan.ca) } : {}),
    ...(plan.cert ? { cert: readFileSync(plan.cert) } : {}),
    ...(plan.key ? { key: readFileSync(plan.key) } : {}),
    rejectUnauthorized: true,
    ...(plan.will ? { will: { topic: plan.will.topic, payload: Buffer.from(plan.will.payload), qos: 1 as const, retain: true } } : {}),
  });
  const c = client;
  // A refused CONNECT is a close (or an error) before CONNACK.
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', (e) => reject(e));
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
  out.connected = true;
  client.on('close', () => (out.closed = true));
  client.on('message', (topic, payload) => out.received.push({ topic, payload: payload.toString() }));
  for (const t of plan.subscribe ?? []) {
    if (out.closed) break;
    // MQTT.js rejects a SUBACK failure code (0x80): recorded as 128, the session goes on.
    const g = await Promise.race([client.subscribeAsync(t, { qos: 1 }).catch(() => undefined), Bun.sleep(2000).then(() => undefined)]);
    out.granted.push(g?.[0]?.qos ?? 128);
  }
  for (const p of plan.publish ?? []) {
    if (out.closed) break;
    const closed = new Promise<boolean>((r) => c.once('close', () => r(false)));
    const acked = await Promise.race([client.publishAsync(p.topic, p.payload, { qos: 1, retain: p.retain ?? false }).then(() => true, () => false), closed, Bun.sleep(2000).then(() => false)]);
    out.published.push({ topic: p.topic, acked });
  }
  await Bun.sleep(plan.waitMs ?? 600);
} catch (e) {
  out.error = (e as Error).message;
}
// With a will: no DISCONNECT, the process just exits (the broker sees the socket close and fires the will).
if (!plan.will) client?.end(true);
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
