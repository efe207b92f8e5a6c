#!/usr/bin/env bun
/**
 * Floods an agent's snapshot topic with hostile payloads and reports the agent's memory.
 *
 *   bun scripts/bench/mqtt-flood.ts publish URL TOPIC [--forged N] [--forged-v1 N] [--nested N] [--huge N] [--mb 15] [--huge-mb 40] [--key-id HEX]
 *       publishes, QoS 1 each and awaited: N forged snapshots of --mb MiB in the v2 envelope
 *       (what relays send today: clear line, signed header, then a deflate bomb padded with
 *       random bytes; random key id unless --key-id, random signature), N forged ones in the v1
 *       JSON envelope (still read from old caches and relays), N nested-JSON payloads (--mb MiB
 *       of "["), N payloads of --huge-mb MiB (over the agent's 16 MiB packet limit); prints a
 *       JSON summary line
 *   bun scripts/bench/mqtt-flood.ts measure
 *       the whole run in a lab: Mosquitto and a relay-mode agent in namespaces, the agent's
 *       VmRSS/VmHWM sampled before, during and after a long flood; prints the figures as JSON
 *
 * Used by test/integration/mqtt-abuse.test.ts (a short flood, with a memory bound) and by hand
 * for the longer measurement (figures for docs/benchmarks.md).
 */
import mqtt from 'mqtt';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';

const MiB = 1024 * 1024;

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

/** `{"body":{...spaces...},"keyId":"<16 hex>","sig":"<88 base64>"}`: passes every cheap check but the signature. */
export function forgedSnapshot(bytes: number, keyId = randomBytes(8).toString('hex')): Buffer {
  const head = Buffer.from('{"body":{');
  const tail = Buffer.from(`},"keyId":"${keyId}","sig":"${randomBytes(64).toString('base64')}"}`);
  const body = Buffer.alloc(Math.max(0, bytes - head.length - tail.length), 0x20);
  return Buffer.concat([head, body, tail]);
}

/** Where a v2 forgery's signature starts: after "outpost.snapshot/v2 <16 hex> ". */
const V2_SIG_AT = 'outpost.snapshot/v2 '.length + 17;
/** 16 MiB + 1 of spaces, deflated (about 16 KiB): over the agent's inflation cap, were it ever inflated. */
let bomb: Buffer | undefined;

/**
 * The v2 envelope as a relay writes it, with a random signature: the clear line, a canonical
 * header for gw, then a deflate bomb padded with random bytes to `bytes`. Passes every check in
 * front of the signature (so each one costs the agent an ed25519 verify over `bytes`); a decoder
 * that inflated or parsed before verifying would pay for the bomb.
 */
export function forgedSnapshotV2(bytes: number, keyId = randomBytes(8).toString('hex')): Buffer {
  bomb ??= deflateRawSync(Buffer.alloc(16 * MiB + 1, 0x20));
  const header = `{"format":"outpost.snapshot/v2","hash":"sha256:${randomBytes(32).toString('hex')}","issuedAt":${Date.now()},"node":"gw","revision":"9223372036854775807"}`;
  const head = Buffer.from(`outpost.snapshot/v2 ${keyId} ${randomBytes(64).toString('base64')}\n${header}\n`);
  return Buffer.concat([head, bomb, randomBytes(Math.max(0, bytes - head.length - bomb.length))]);
}

export function nestedJson(bytes: number): Buffer {
  return Buffer.alloc(bytes, 0x5b);
}

/** --key-id HEX: claim the agent's trusted key, so each forgery costs a real ed25519 verify. */
function keyIdArg(args: string[]): string | undefined {
  const i = args.indexOf('--key-id');
  return i >= 0 ? args[i + 1] : undefined;
}

async function publish(args: string[]): Promise<void> {
  const [url, topic] = args;
  if (!url || !topic) throw new Error('usage: mqtt-flood.ts publish URL TOPIC [options]');
  const mb = arg(args, '--mb', 15);
  const plan: [string, number, () => Buffer][] = [
    ['forged', arg(args, '--forged', 10), () => forgedSnapshotV2(mb * MiB, keyIdArg(args))],
    ['forged-v1', arg(args, '--forged-v1', 0), () => forgedSnapshot(mb * MiB, keyIdArg(args))],
    ['nested', arg(args, '--nested', 10), () => nestedJson(mb * MiB)],
    ['huge', arg(args, '--huge', 1), () => Buffer.alloc(arg(args, '--huge-mb', 40) * MiB, 0x7b)],
  ];
  const client = await mqtt.connectAsync(url, { clientId: `flood-${process.pid}`, clean: true, reconnectPeriod: 0, connectTimeout: 5000, writeCache: false });
  const started = Date.now();
  const sent: Record<string, number> = {};
  for (const [kind, n, make] of plan) {
    const payload = n > 0 ? make() : Buffer.alloc(0);
    for (let i = 0; i < n; i++) {
      // A fresh signature per forged message, so no two are the same bytes.
      if (kind === 'forged') payload.set(Buffer.from(randomBytes(64).toString('base64')), V2_SIG_AT);
      if (kind === 'forged-v1') payload.set(Buffer.from(randomBytes(64).toString('base64')), payload.length - 2 - 88);
      await client.publishAsync(topic, payload, { qos: 1, retain: false });
      sent[kind] = (sent[kind] ?? 0) + 1;
    }
  }
  await client.endAsync();
  console.log(JSON.stringify({ sent, ms: Date.now() - started }));
}

async function measure(): Promise<void> {
  const { SyncLab, HUB, BROKER } = await import('../../test/integration/sync-harness.ts');
  const h = await SyncLab.create({ etcd: false });
  try {
    const agent = h.agent('gw');
    const until = Date.now() + 15_000;
    while (!agent.stderr.includes('connected to broker')) {
      if (Date.now() > until) throw new Error(`agent did not connect:\n${agent.stderr}`);
      await Bun.sleep(100);
    }
    await Bun.sleep(2000);
    const pid = agent.pid!;
    const read = async (): Promise<{ rss: number; hwm: number }> => {
      const s = await Bun.file(`/proc/${pid}/status`).text();
      const kb = (k: string) => Number(/(\d+) kB/.exec(s.split('\n').find((l) => l.startsWith(k)) ?? '')?.[1] ?? 0);
      return { rss: Math.round(kb('VmRSS:') / 1024), hwm: Math.round(kb('VmHWM:') / 1024) };
    };
    const before = await read();
    let peak = before.rss;
    const sampler = setInterval(() => void read().then((r) => (peak = Math.max(peak, r.rss))), 100);
    const forged = Number(process.env['FLOOD_FORGED'] ?? 100);
    const forgedV1 = Number(process.env['FLOOD_FORGED_V1'] ?? 20);
    const nested = Number(process.env['FLOOD_NESTED'] ?? 100);
    const huge = Number(process.env['FLOOD_HUGE'] ?? 3);
    const { keyId } = await import('../../src/protocol/key-id.ts');
    const r = await h.lab.exec('hub', [process.execPath, import.meta.path, 'publish', `mqtt://127.0.0.1:1883`, 'outpost/v1/nodes/gw/snapshot', '--key-id', keyId(h.keys.relay.publicKey), '--forged', String(forged), '--forged-v1', String(forgedV1), '--nested', String(nested), '--huge', String(huge), '--huge-mb', '250'], { timeoutMs: 900_000 });
    await Bun.sleep(3000);
    clearInterval(sampler);
    const after = await read();
    const refusals = agent.stderr.split('\n').filter((l) => l.includes('snapshot refused')).length;
    console.log(JSON.stringify({ broker: BROKER, hub: HUB.v4, flood: JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}'), rssMiB: { before: before.rss, peak, after: after.rss, hwm: after.hwm }, refusalsLogged: refusals, agentRunning: agent.running }));
  } finally {
    await h.destroy();
  }
}

const [cmd, ...rest] = process.argv.slice(2);
if (import.meta.main) {
  if (cmd === 'publish') await publish(rest);
  else if (cmd === 'measure') await measure();
  else {
    console.error('usage: mqtt-flood.ts publish URL TOPIC [--forged N] [--forged-v1 N] [--nested N] [--huge N] [--mb M] [--huge-mb M] | measure');
    process.exit(2);
  }
}
