#!/usr/bin/env bun
/**
 * Benchmark: the relay at fleet scale. A synthetic datastore (relay-scale-data.ts: N nodes,
 * 2,000 policies, 50,000 set members), a real Mosquitto on a loopback port started here, the
 * relay as its own process (bun, this file's `relay` mode: the real startRelay and MQTT client,
 * fed from memory instead of etcd), and one subscriber here on every node's snapshot topic.
 *
 * Figures, per node count, alternating in each round (medians over the rounds):
 *   one-node change    `bench-one` (selects n0) gets a new port → n0's new snapshot received
 *   every-node change  `bench-all` (selects every node) gets a new port → all N received
 *   floors             one MQTT QoS 1 round trip; N plain QoS 1 publishes of the median
 *                      snapshot size (64 outstanding, as the relay) from publish to last received
 *   relay peak RSS     VmHWM of the relay process at the end (start-up included)
 * The clock starts when the relay process hands the new state to the relay (what a datastore
 * watch does), so the datastore's own latency is not in the figure.
 *
 * usage: bun scripts/bench/relay-scale.ts [--nodes 3000,10000] [--rounds 5] [--no-write]
 *        bun scripts/bench/relay-scale.ts relay --nodes N --broker URL    (the relay process; commands on stdin)
 */
import mqtt from 'mqtt';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { benchPolicy, benchResources, POLICIES, SETS, SET_SIZE } from './relay-scale-data.ts';
import { commandLine, machine, median, ms, parseArgs, writeResults } from './lib.ts';

const now = () => performance.timeOrigin + performance.now();
const PREFIX = 'outpost/v1';

// ---------------------------------------------------------------- the relay process
async function relayProcess(args: Map<string, string | true>): Promise<void> {
  const { startRelay } = await import('../../src/relay/relay.ts');
  const { connectMqtt } = await import('../../src/mqtt/client.ts');
  const { generateSigningKeyPair } = await import('../../src/platform/signing.ts');
  const nodes = Number(args.get('nodes'));
  let resources = benchResources(nodes);
  let revision = 1000;
  let listener: Parameters<Parameters<typeof startRelay>[0]['source']['start']>[0] | undefined;
  const link = connectMqtt({ url: String(args.get('broker')), clientId: `bench-relay-${process.pid}`, clean: true });
  const t0 = now();
  const relay = await startRelay({
    source: { start: async (l) => ((listener = l), l.onState({ revision: String(revision), resources })), stop: async () => undefined },
    link,
    signingKey: generateSigningKeyPair().privateKey,
    topicPrefix: PREFIX,
    log: pino({ level: process.env['OUTPOST_BENCH_RELAY_LOG'] ?? 'info' }, pino.destination(2)),
    resignIntervalMs: 0,
  });
  while (!link.connected) await Bun.sleep(20);
  await Bun.sleep(100);
  await relay.idle();
  console.log(JSON.stringify({ ready: true, startMs: now() - t0 }));
  for await (const line of console) {
    const [cmd, port] = line.trim().split(' ');
    if (cmd !== 'one' && cmd !== 'every') continue;
    const name = cmd === 'one' ? 'bench-one' : 'bench-all';
    const changed = benchPolicy(name, Number(port));
    resources = resources.map((r) => (r.kind === 'GlobalNetworkPolicy' && r.metadata.name === name ? changed : r));
    revision++;
    const t = now();
    listener!.onState({ revision: String(revision), resources });
    console.log(JSON.stringify({ t0: t, revision: String(revision) }));
    await Bun.sleep(50);
    await relay.idle();
    console.log(JSON.stringify({ idle: now() - t, revision: String(revision) }));
  }
}

// ---------------------------------------------------------------- the measuring side
async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

async function startMosquitto(dir: string) {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  // One subscriber takes every node's snapshot: its queue must not drop any (the default keeps 1,000).
  await writeFile(conf, ['per_listener_settings false', 'allow_anonymous true', 'persistence false', 'max_queued_messages 0', 'log_dest stderr', 'log_type error', 'log_type warning', `listener ${port} 127.0.0.1`, ''].join('\n'));
  const proc = Bun.spawn(['mosquitto', '-c', conf], { stdout: 'ignore', stderr: 'pipe' });
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 500 });
      await c.endAsync();
      return { proc, url };
    } catch {
      await Bun.sleep(50);
    }
  }
  throw new Error('mosquitto did not start');
}

/** Every snapshot received: node → [revision, arrival time]; and waiters for a revision count. */
class Subscriber {
  readonly seen = new Map<string, { revision: string; at: number }[]>();
  readonly sizes: number[] = [];
  private plain = { count: 0, last: 0 };
  private rt: ((t: number) => void) | undefined;
  private constructor(readonly client: mqtt.MqttClient) {}

  static async connect(url: string): Promise<Subscriber> {
    const client = await mqtt.connectAsync(url, { clientId: `bench-sub-${process.pid}`, clean: true, reconnectPeriod: 0 });
    const s = new Subscriber(client);
    client.on('message', (topic, payload) => s.onMessage(topic, payload));
    await client.subscribeAsync([`${PREFIX}/nodes/+/snapshot`, 'bench/rt', 'bench/plain/+'], { qos: 1 });
    return s;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const at = now();
    if (topic === 'bench/rt') return this.rt?.(at);
    if (topic.startsWith('bench/plain/')) {
      this.plain.count++;
      this.plain.last = at;
      return;
    }
    const node = topic.split('/')[3]!;
    // Not verified here (the subscriber stands in for the transport, not for an agent): the
    // signed header's revision, found by its text.
    const m = /"revision":"(\d+)"/.exec(payload.toString('latin1'));
    let list = this.seen.get(node);
    if (!list) this.seen.set(node, (list = []));
    list.push({ revision: m?.[1] ?? '?', at });
    if (this.sizes.length < 2000) this.sizes.push(payload.length);
  }

  /** Arrival times of `revision` for these nodes, once all arrived. */
  async waitFor(nodes: readonly string[], revision: string, timeoutMs: number): Promise<number[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const times = nodes.map((n) => this.seen.get(n)?.find((x) => x.revision === revision)?.at);
      if (times.every((t) => t !== undefined)) return times as number[];
      if (Date.now() > end) throw new Error(`revision ${revision}: ${times.filter((t) => t !== undefined).length}/${nodes.length} received`);
      await Bun.sleep(5);
    }
  }

  async roundTrip(): Promise<number> {
    const got = new Promise<number>((r) => (this.rt = r));
    const t0 = now();
    await this.client.publishAsync('bench/rt', 'x', { qos: 1 });
    return (await got) - t0;
  }

  /** N publishes of `size` bytes (64 outstanding) from another client; publish start → last received. */
  async plainPublishes(url: string, n: number, size: number): Promise<number> {
    const pub = await mqtt.connectAsync(url, { clientId: `bench-pub-${process.pid}`, clean: true, reconnectPeriod: 0 });
    this.plain = { count: 0, last: 0 };
    const payload = Buffer.alloc(size, 0x61);
    const t0 = now();
    const inflight = new Set<Promise<unknown>>();
    for (let i = 0; i < n; i++) {
      while (inflight.size >= 64) await Promise.race(inflight);
      const p: Promise<unknown> = pub.publishAsync(`bench/plain/${i}`, payload, { qos: 1 }).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
    while (this.plain.count < n) await Bun.sleep(2);
    await pub.endAsync();
    return this.plain.last - t0;
  }
}

interface Run {
  readonly nodes: number;
  readonly startMs: number;
  readonly one: number[];
  readonly every: number[];
  readonly oneSplit: { plan: number; encode: number; total: number }[];
  readonly everySplit: { plan: number; encode: number; total: number }[];
  readonly rt: number[];
  readonly plain: number[];
  readonly size: number;
  readonly peakMiB: number;
  readonly endMiB: number;
  readonly loadBefore: number[];
  readonly loadAfter: number[];
}

/** VmHWM (the peak) and VmRSS (now) of a process, MiB. */
const rssOf = async (pid: number) => {
  const s = await Bun.file(`/proc/${pid}/status`).text();
  const kb = (k: string) => Number(new RegExp(`${k}:\\s*(\\d+) kB`).exec(s)?.[1] ?? 0) / 1024;
  return { peak: kb('VmHWM'), now: kb('VmRSS') };
};

async function measure(url: string, nodes: number, rounds: number): Promise<Run> {
  const loadBefore = loadavg();
  const sub = await Subscriber.connect(url);
  const child = Bun.spawn([process.execPath, import.meta.path, 'relay', '--nodes', String(nodes), '--broker', url], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
  // The relay's own account of each publication: time to plan, to encode, and in all (its log line).
  const relayMs = new Map<string, { plan: number; encode: number; total: number }>();
  void (async () => {
    let buf = '';
    for await (const chunk of child.stderr) {
      buf += new TextDecoder().decode(chunk);
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.includes('"snapshots published"')) {
          if (!line.includes('"level":30')) console.error(line.slice(0, 300));
          continue;
        }
        const l = JSON.parse(line) as { revision: string; ms: { plan: number; encode: number; total: number } };
        relayMs.set(l.revision, l.ms);
      }
    }
  })();
  const lines = (async function* () {
    let buf = '';
    for await (const chunk of child.stdout) {
      buf += new TextDecoder().decode(chunk);
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        yield JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
        buf = buf.slice(i + 1);
      }
    }
  })();
  const next = async () => (await lines.next()).value as Record<string, unknown>;
  try {
    const ready = await next();
    const all = Array.from({ length: nodes }, (_, i) => `n${i}`);
    await sub.waitFor(all, '1000', 120_000);
    let port = 20_000;
    const change = async (kind: 'one' | 'every') => {
      child.stdin.write(`${kind} ${++port}\n`);
      child.stdin.flush();
      const started = await next();
      const times = await sub.waitFor(kind === 'one' ? ['n0'] : all, String(started['revision']), 300_000);
      const done = await next();
      if (done['revision'] !== started['revision']) throw new Error('relay process out of step');
      // The log line (stderr) may be read after the reply (stdout): wait for it a little.
      for (let i = 0; i < 100 && !relayMs.has(String(started['revision'])); i++) await Bun.sleep(10);
      const split = relayMs.get(String(started['revision']));
      if (split) (kind === 'one' ? r.oneSplit : r.everySplit).push(split);
      return Math.max(...times) - Number(started['t0']);
    };
    const r: Omit<Run, 'peakMiB' | 'endMiB' | 'loadAfter' | 'size'> = { nodes, startMs: Number(ready['startMs']), one: [], every: [], oneSplit: [], everySplit: [], rt: [], plain: [], loadBefore };
    await change('one');
    r.oneSplit.length = 0;
    const size = median(sub.sizes);
    for (let i = 0; i < rounds; i++) {
      const o = await change('one');
      r.one.push(o);
      const e = await change('every');
      r.every.push(e);
      for (let k = 0; k < 5; k++) r.rt.push(await sub.roundTrip());
      r.plain.push(await sub.plainPublishes(url, nodes, size));
      console.error(`${nodes} nodes, round ${i + 1}/${rounds}: one-node ${ms(o)} ms, every-node ${ms(e)} ms, plain ${ms(r.plain.at(-1)!)} ms`);
    }
    const mem = await rssOf(child.pid);
    return { ...r, size, peakMiB: mem.peak, endMiB: mem.now, loadAfter: loadavg() };
  } finally {
    child.kill();
    await child.exited;
    await sub.client.endAsync();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const counts = String(args.get('nodes') ?? '3000,10000').split(',').map(Number);
  const rounds = Number(args.get('rounds') ?? 5);
  const dir = await mkdtemp(join(tmpdir(), 'outpost-relay-scale-'));
  const broker = await startMosquitto(dir);
  const runs: Run[] = [];
  try {
    for (const n of counts) runs.push(await measure(broker.url, n, rounds));
  } finally {
    broker.proc.kill();
    await broker.proc.exited;
    await rm(dir, { recursive: true, force: true });
  }
  const la = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
  const verdict = (ok: boolean, text: string) => `${ok ? '**met**' : '**missed**'} (${text})`;
  const rows = runs.map((r) => {
    const one = median(r.one);
    const every = median(r.every);
    return `| ${r.nodes.toLocaleString('en')} | ${ms(one)} | ${ms(every)} | ${((100 * one) / every).toFixed(1)} % | ${ms(median(r.rt))} | ${ms(median(r.plain))} | ${r.size} | ${Math.round(r.peakMiB)} / ${Math.round(r.endMiB)} | ${(r.startMs / 1000).toFixed(1)} | ${la(r.loadBefore)} → ${la(r.loadAfter)} |`;
  });
  const targets = runs.flatMap((r) => {
    const one = median(r.one);
    const every = median(r.every);
    const n = r.nodes.toLocaleString('en');
    if (r.nodes <= 3000) return [`- ${n} nodes: one-node change ≤ 5 % of an every-node change: ${verdict(one <= every * 0.05, `${((100 * one) / every).toFixed(1)} %`)}; relay peak RSS < 400 MiB: ${verdict(r.peakMiB < 400, `${Math.round(r.peakMiB)} MiB`)}`];
    return [`- ${n} nodes: one-node change < 1 s: ${verdict(one < 1000, `${ms(one)} ms`)}; every-node change < 10 s: ${verdict(every < 10_000, `${ms(every)} ms`)}`];
  });
  const md = [
    `Command: \`${commandLine()}\` — ${rounds} rounds per node count, each: a one-node change, an every-node change, 5 round trips, N plain publishes (medians below).`,
    '',
    machine(),
    '',
    `Datastore: N nodes with one HEP each, ${POLICIES.toLocaleString('en')} policies (about 5 select each node), ${SETS} GlobalNetworkSets × ${SET_SIZE} addresses = ${(SETS * SET_SIZE).toLocaleString('en')} set members. Mosquitto ${'2'} on 127.0.0.1, the relay in its own process, one subscriber on every node's topic.`,
    '',
    '| nodes | one-node change → received (ms) | every-node change → all received (ms) | one / every | floor: MQTT round trip (ms) | floor: N plain publishes (ms) | snapshot bytes (median) | relay RSS peak / at the end (MiB) | relay start-up to all published (s) | load average before → after |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
    "Where the relay's time goes (its own log line per publication, medians, ms): plan = diff the state, find the nodes it reaches, compute and compare their plans; encode = `encodeSnapshot` for each changed node; total = until the broker acknowledged the last publication.",
    '',
    '| nodes | change | plan | encode | total |',
    '|---:|---|---:|---:|---:|',
    ...runs.flatMap((r) =>
      (
        [
          ['one-node', r.oneSplit],
          ['every-node', r.everySplit],
        ] as const
      ).map(([label, xs]) => `| ${r.nodes.toLocaleString('en')} | ${label} | ${xs.length ? ms(median(xs.map((x) => x.plan))) : 'n/a'} | ${xs.length ? ms(median(xs.map((x) => x.encode))) : 'n/a'} | ${xs.length ? ms(median(xs.map((x) => x.total))) : 'n/a'} |`),
    ),
    '',
    'Targets:',
    ...targets,
  ].join('\n');
  console.log(md);
  if (!args.has('no-write')) writeResults('relay-scale', md);
}

if (import.meta.main) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'relay') await relayProcess(parseArgs(rest));
  else await main();
}
