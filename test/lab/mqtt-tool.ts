#!/usr/bin/env bun
/**
 * A tiny MQTT client for tests, run inside a lab host (the broker lives there):
 *   mqtt-tool.ts pub URL TOPIC FILE [--retain]     publish FILE's bytes (an empty FILE clears a retained message)
 *   mqtt-tool.ts get URL TOPIC [WAIT_MS]           print the retained message as base64, or nothing
 */
import mqtt from 'mqtt';
import { readFile } from 'node:fs/promises';

const [cmd, url, topic, arg, flag] = process.argv.slice(2);
if (!cmd || !url || !topic) {
  console.error('usage: mqtt-tool.ts pub|get URL TOPIC ...');
  process.exit(2);
}
const client = await mqtt.connectAsync(url, { clientId: `mqtt-tool-${process.pid}`, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
if (cmd === 'pub') {
  const payload = await readFile(arg ?? '/dev/null');
  await client.publishAsync(topic, payload, { qos: 1, retain: flag === '--retain' });
  await client.endAsync();
} else {
  const wait = Number(arg ?? 500);
  let got: Buffer | undefined;
  client.on('message', (_t, p, packet) => {
    if (packet.retain && p.length) got = p;
  });
  await client.subscribeAsync(topic, { qos: 1 });
  await Bun.sleep(wait);
  await client.endAsync();
  if (got) process.stdout.write(got.toString('base64'));
}
