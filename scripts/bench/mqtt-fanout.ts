#!/usr/bin/env bun
/**
 * Benchmark: MQTT fan-out to agents on a real Mosquitto.
 *
 * A Mosquitto on a loopback port (persistence on, like a production broker), SUBSCRIBERS
 * agent-style clients: each its own connection through the product's own MQTT link
 * (src/mqtt/client.ts: clean session false, QoS 1, a last will, the agent's jittered reconnect
 * backoff), subscribed to its own node's snapshot topic, as src/agent/relay-mode.ts does.
 * Payloads are real signed snapshots (the standard policy set's plan, v2 envelope).
 *
 *   burst    one publisher (the relay's side) publishes one retained QoS 1 snapshot per node,
 *            all at once; time until every subscriber has its message
 *   restart  the broker is stopped (SIGTERM: it writes its persistence file) and started again;
 *            time from the stop until every subscriber is reconnected, and until every one has
 *            a snapshot again (a re-subscription gets the retained message)
 *
 * Floors, measured in the same run: one publish → subscriber round trip (median), and the same
 * publishes as plain QoS 1 publishes nobody subscribes to (getting the bytes into the broker,
 * without the fan-out). Bursts and plain publishes alternate. All clients live in this one
 * process, so its JavaScript thread is part of every figure.
 *
 * Needs ulimit -n above SUBSCRIBERS + 100, for this process and the broker (it prints both).
 *
 * usage: bun scripts/bench/mqtt-fanout.ts [--subscribers 1000] [--runs 3] [--restarts 2] [--no-write]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { connectMqtt, type MqttLink } from '../../src/mqtt/client.ts';
import { generateSigningKeyPair } from '../../src/platform/signing.ts';
import { encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { snapshotTopic } from '../../src/protocol/topics.ts';
import { describeSet, policySetYaml } from './policy-set.ts';
import { commandLine, machine, median, ms, parseArgs, stats, statsTable, writeResults } from './lib.ts';

const args = parseArgs(process.argv.slice(2));
const N = Number(args.get('subscribers') ?? 1000);
const RUNS = Number(args.get('runs') ?? 3);
const RESTARTS = Number(args.get('restarts') ?? 2);
const PREFIX = 'outpost/v1';
const PORT = 20000 + (process.pid % 10000);
const URL = `mqtt://127.0.0.1:${PORT}`;
const node = (i: number) => `node${String(i).padStart(4, '0')}`;

const nofile = (pid: number | 'self') => /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1] ?? '?';
if (Number(nofile('self')) < N + 100) throw new Error(`ulimit -n is ${nofile('self')}: ${N} connections need at least ${N + 100} (raise it: ulimit -n 65536)`);

// Real snapshots: the standard set's plan for gw, re-addressed to each node.
const keys = generateSigningKeyPair();
const parsed = parseManifest(policySetYaml(), 'bench');
const { plan } = computeNodePlan({ node: 'gw', resources: parsed.resources });
const snapshots = (revision: number) => Array.from({ length: N }, (_, i) => encodeSnapshot({ node: node(i), revision: String(revision), plan: { ...plan, node: node(i) }, issuedAt: Date.now() }, keys.privateKey, { checkPlan: false }));
const v1Bytes = encodeSnapshot({ node: 'gw', revision: '1', plan, issuedAt: Date.now() }, keys.privateKey, { format: 1 }).length;

// The broker.
const dir = mkdtempSync(join(tmpdir(), 'outpost-fanout-'));
const conf = join(dir, 'mosquitto.conf');
writeFileSync(conf, [
  `listener ${PORT} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`,
  // The temp dir is root's: no drop to the mosquitto user, which could not write the persistence file there.
  'user root', 'log_dest stderr', 'log_type error', 'log_type warning', 'max_queued_messages 1000',
].join('\n') + '\n');
let broker: ReturnType<typeof Bun.spawn> | undefined;

async function listening(timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(PORT, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error('mosquitto did not start listening');
    await Bun.sleep(5);
  }
}

async function startBroker(): Promise<number> {
  const t = performance.now();
  broker = Bun.spawn(['mosquitto', '-c', conf], { stdout: 'ignore', stderr: 'inherit' });
  await listening();
  return performance.now() - t;
}

async function stopBroker(): Promise<void> {
  broker?.kill('SIGTERM');
  await broker?.exited;
}

const brokerStart = await startBroker();
const brokerNofile = nofile(broker!.pid);
const links: MqttLink[] = [];

try {
  // The relay's side, and two helpers for the round-trip floor.
  const link = (clientId: string, clean = true) => connectMqtt({ url: URL, clientId, clean, backoff: { initialMs: 500, maxMs: 30_000 } });
  const connected = (l: MqttLink) => new Promise<void>((r) => (l.connected ? r() : l.onConnect(() => r())));
  const pub = link('bench-relay');
  const echo = link('bench-echo');
  await Promise.all([connected(pub), connected(echo)]);

  // Floor 1: one round trip (publish QoS 1 → the only subscriber has it).
  let waiting: (() => void) | undefined;
  echo.onMessage(() => waiting?.());
  await echo.subscribe(['bench/rtt'], 1);
  const rtt: number[] = [];
  for (let i = 0; i < 50; i++) {
    const got = new Promise<void>((r) => (waiting = r));
    const t = performance.now();
    await pub.publish('bench/rtt', `${i}`, { retain: false, qos: 1 });
    await got;
    rtt.push(performance.now() - t);
  }

  // The agents.
  const receivedAt = new Float64Array(N);
  let received = 0;
  let reconnected = 0;
  let connectedSince = Infinity;
  const tConnect = performance.now();
  for (let i = 0; i < N; i++) {
    const topic = snapshotTopic(PREFIX, node(i));
    const l = connectMqtt({ url: URL, clientId: `outpost-agent-${node(i)}`, clean: false, will: { topic: `${PREFIX}/nodes/${node(i)}/status`, payload: '{"state":"offline"}', retain: true, qos: 1 } });
    l.onConnect(() => {
      if (performance.now() >= connectedSince) reconnected++;
      void l.subscribe([topic], 1);
    });
    l.onMessage((t) => {
      if (t === topic && receivedAt[i] === 0) {
        receivedAt[i] = performance.now();
        received++;
      }
    });
    links.push(l);
  }
  await Promise.all(links.map(connected));
  const connectAll = performance.now() - tConnect;
  await Bun.sleep(500); // subscriptions settle
  const reset = () => {
    receivedAt.fill(0);
    received = 0;
  };
  const allReceived = async (timeoutMs: number) => {
    const end = performance.now() + timeoutMs;
    while (received < N) {
      if (performance.now() > end) throw new Error(`only ${received}/${N} subscribers got a snapshot`);
      await Bun.sleep(2);
    }
    return Math.max(...receivedAt);
  };

  // Bursts, alternating with the plain-publish floor.
  const burst: number[] = [];
  const burstAcked: number[] = [];
  const plain: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const payloads = snapshots(1000 + r);
    reset();
    const t = performance.now();
    await Promise.all(payloads.map((p, i) => pub.publish(snapshotTopic(PREFIX, node(i)), p, { retain: true, qos: 1 })));
    burstAcked.push(performance.now() - t);
    burst.push((await allReceived(120_000)) - t);
    const t2 = performance.now();
    await Promise.all(payloads.map((p, i) => pub.publish(`bench/plain/${node(i)}`, p, { retain: false, qos: 1 })));
    plain.push(performance.now() - t2);
  }

  // Broker restarts (persistence on): stop, start, every agent reconnects and re-subscribes.
  const restart = { down: [] as number[], up: [] as number[], reconnected: [] as number[], snapshot: [] as number[] };
  for (let r = 0; r < RESTARTS; r++) {
    reset();
    reconnected = 0;
    const t = performance.now();
    connectedSince = t;
    await stopBroker();
    restart.down.push(performance.now() - t);
    restart.up.push(await startBroker());
    restart.snapshot.push((await allReceived(180_000)) - t);
    while (reconnected < N && performance.now() - t < 180_000) await Bun.sleep(5);
    restart.reconnected.push(performance.now() - t);
    connectedSince = Infinity;
    await Bun.sleep(1000);
  }

  const load = loadavg().map((x) => x.toFixed(2)).join(', ');
  const size = snapshots(1)[0]!.length;
  const md = `
Subscribers: ${N} agent-style connections (clean session false, QoS 1, own topic each), one
publisher; payload: one signed v2 snapshot per node, ${size} bytes (${v1Bytes} as v1), the
standard set's plan (${describeSet()}). Mosquitto ${mosquittoVersion()} on 127.0.0.1, persistence on.
ulimit -n: ${nofile('self')} (bench), ${brokerNofile} (broker).

${statsTable([
    ['floor: one publish → subscriber round trip', stats(rtt)],
    [`floor: ${N} plain QoS 1 publishes, no subscriber`, stats(plain)],
    [`burst: ${N} retained publishes acknowledged`, stats(burstAcked)],
    [`burst: every subscriber has its snapshot`, stats(burst)],
  ], ['n', 'p50', 'max'])}

Connecting all ${N} subscribers at the start: ${ms(connectAll)} ms.

Broker restart (SIGTERM, start again with its persistence file), from the stop:

${statsTable([
    ['broker stopped (persistence written)', stats(restart.down)],
    ['broker listening again (its own start)', stats(restart.up)],
    [`every subscriber has a snapshot again`, stats(restart.snapshot)],
    [`every subscriber reconnected`, stats(restart.reconnected)],
  ], ['n', 'p50', 'max'])}

Burst vs floor: ${(median(burst) / median(plain)).toFixed(2)}× the plain publishes (median). Load average at the end: ${load}.

${machine()}
- command: \`${commandLine()}\`
`;
  console.log(md);
  if (!args.has('no-write')) writeResults(`mqtt-fanout${N === 1000 ? '' : `-${N}`}`, md);
} finally {
  await Promise.all(links.map((l) => l.close(true).catch(() => undefined)));
  await stopBroker();
  rmSync(dir, { recursive: true, force: true });
  console.error(`broker start ${ms(brokerStart)} ms`);
}

function mosquittoVersion(): string {
  const r = Bun.spawnSync(['mosquitto', '-h']);
  return /mosquitto version (\S+)/.exec(r.stdout.toString() + r.stderr.toString())?.[1] ?? '?';
}

process.exit(0);
