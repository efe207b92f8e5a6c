/**
 * The relay lab: the standard lab plus a "hub" host (on gw's eth4) that runs the real etcd,
 * the real Mosquitto and `outpost relay`. Agents run in gw (node "gw") and c2 (node "c2") and
 * reach the broker across the lab network, so their own policy could cut them off if the
 * broker failsafe did not hold.
 *
 *   c1 ── eth1 ┐                 ┌ eth4 ── hub 198.18.4.2 (etcd 127.0.0.1:2379, mosquitto :1883, relay)
 *   c2 ── eth2 ┤ gw (agent "gw") │
 *   behind ─ eth3 ┘
 */
import { enforcedSnapshotView, explainMismatches, stampInForce } from '../lab/explain-check.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standardLab, type StandardLab, type LabProcess } from '../lab/lab.ts';
import { Mosquitto } from '../lab/mosquitto.ts';
import { NamespacedEtcd } from '../lab/namespaced-etcd.ts';
import { generateSigningKeyPair, privateKeyToPem, publicKeyToPem, type KeyPair } from '../../src/platform/signing.ts';
import { MAIN } from './harness.ts';

export const HUB = { v4: '198.18.4.2', v6: 'fd00:4::2' };
export const BROKER = `mqtt://${HUB.v4}:1883`;
const MQTT_TOOL = join(import.meta.dir, '../lab/mqtt-tool.ts');

export interface LogLine {
  readonly msg: string;
  readonly time: string;
  readonly [k: string]: unknown;
}

/** Every JSON log line a process printed so far. */
export function logLines(p: LabProcess): LogLine[] {
  return parseLogLines(p.stderr);
}

/** Every whole JSON (pino) line in a process's output. */
export function parseLogLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // A partial line: the next read has it whole.
    }
  }
  return out;
}

/** Waits until the process logged a line for which `pred` holds; returns it. */
export async function waitLog(p: LabProcess, pred: (l: LogLine) => boolean, timeoutMs = 15_000, after = 0): Promise<LogLine> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = logLines(p).slice(after).find(pred);
    if (hit) return hit;
    if (!p.running) throw new Error(`${commandOf(p)} exited before the expected log line:\n${p.stderr.slice(-3000)}`);
    if (Date.now() > end) throw new Error(`no expected log line within ${timeoutMs} ms:\n${p.stderr.slice(-3000)}`);
    await Bun.sleep(25);
  }
}

/** "agent --node gw" / "relay ...": the subcommand and what follows, whether run from source or compiled. */
function commandOf(p: LabProcess): string {
  const at = p.argv.findIndex((a) => a === 'agent' || a === 'relay');
  return p.argv.slice(at < 0 ? 0 : at, (at < 0 ? 0 : at) + 3).join(' ');
}

export const inForce = (revision?: string) => (l: LogLine) => l.msg === 'ruleset in force' && (revision === undefined || l['revision'] === revision);

/** Waits until `p` has logged `count` rulesets in force; a timeout shows its log and (given) the relay's. */
export async function waitApplied(p: LabProcess, count: number, opts: { relay?: LabProcess | undefined; timeoutMs?: number | undefined } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const end = Date.now() + timeoutMs;
  const applied = () => logLines(p).filter(inForce()).length;
  while (applied() < count) {
    if (Date.now() > end) throw new Error(`expected ${count} applies, saw ${applied()}\n${p.stderr.slice(-3000)}${opts.relay ? `\nrelay:\n${opts.relay.stderr.slice(-3000)}` : ''}`);
    await Bun.sleep(25);
  }
}

export class SyncLab {
  private constructor(
    readonly s: StandardLab,
    readonly dir: string,
    readonly mosquitto: Mosquitto,
    readonly etcd: NamespacedEtcd | undefined,
    /** The relay's key pair (agents trust its public key) and an untrusted one. */
    readonly keys: { readonly relay: KeyPair; readonly other: KeyPair },
  ) {}

  static async create(opts: { etcd: boolean }): Promise<SyncLab> {
    const s = await standardLab();
    const { lab } = s;
    try {
      await lab.addHost('hub');
      await lab.link('gw', 'eth4', ['198.18.4.1/24', 'fd00:4::1/64'], 'hub', 'eth0', [`${HUB.v4}/24`, `${HUB.v6}/64`]);
      await Promise.all([
        lab.route('hub', '198.18.0.0/15', '198.18.4.1'),
        lab.route('hub', 'fd00::/8', 'fd00:4::1'),
        lab.route('c2', '198.18.4.0/24', s.addr.gw.eth2.v4),
        lab.route('c1', '198.18.4.0/24', s.addr.gw.eth1.v4),
      ]);
      const dir = await mkdtemp(join(tmpdir(), 'outpost-sync-'));
      const keys = generateSigningKeyPair();
      const other = generateSigningKeyPair();
      await writeFile(join(dir, 'relay.key'), privateKeyToPem(keys.privateKey), { mode: 0o600 });
      await writeFile(join(dir, 'relay.pub'), publicKeyToPem(keys.publicKey));
      await writeFile(join(dir, 'other.key'), privateKeyToPem(other.privateKey), { mode: 0o600 });
      const [mosquitto, etcd] = await Promise.all([
        Mosquitto.start(lab, 'hub', dir, [HUB.v4, '127.0.0.1']),
        opts.etcd ? NamespacedEtcd.start(lab, 'hub', dir) : Promise.resolve(undefined),
        lab.startResponder('gw', { tcp: [22, 80, 443], udp: [53] }),
        lab.startResponder('c2', { tcp: [22, 80, 443], udp: [53] }),
      ]);
      // Verdict = packet: probes through gw are checked against explain on gw's cached snapshot.
      lab.enforcedFingerprint = () => stampInForce(lab, 'gw');
      lab.afterProbe = async (from, probes, results) =>
        explainMismatches(await enforcedSnapshotView(lab, 'gw', { state: join(dir, 'state-gw'), trustKey: join(dir, 'relay.pub'), broker: BROKER }), s, from, probes, results, { alsoEnforcing: ['c2'] });
      return new SyncLab(s, dir, mosquitto, etcd, { relay: keys, other });
    } catch (e) {
      await lab.destroy();
      throw e;
    }
  }

  get lab() {
    return this.s.lab;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  // `--config /dev/null`: an /etc/outpost/*.yaml on the machine (an installed outpost, or the
  // .deb test's) must not change what the lab runs.
  relay(extra: string[] = [], key = 'relay.key'): LabProcess {
    const source = this.etcd ? ['--etcd', this.etcd.url] : [];
    // The lab's Mosquitto, unless the caller embeds a broker with --listen.
    if (!extra.includes('--listen')) source.push('--broker', 'mqtt://127.0.0.1:1883');
    // An embedded broker without client certificates must be asked for: these tests are not about mTLS.
    else if (!extra.includes('--broker-cert')) source.push('--insecure');
    return this.lab.spawn('hub', [process.execPath, MAIN, 'relay', '--config', '/dev/null', ...source, '--signing-key', this.path(key), ...extra]);
  }

  agent(host: 'gw' | 'c2', extra: string[] = []): LabProcess {
    return this.lab.spawn(host, [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', host, '--broker', BROKER, '--trust-key', this.path('relay.pub'), '--state', this.path(`state-${host}`), ...extra]);
  }

  /** `outpost apply -f` in the hub, against the lab's etcd. */
  async apply(name: string, yaml: string): Promise<void> {
    const file = this.path(name);
    await writeFile(file, yaml);
    await this.lab.exec('hub', [process.execPath, MAIN, 'apply', '-f', file, '--etcd', this.etcd!.url]);
  }

  async deleteResource(kind: string, name: string): Promise<void> {
    await this.lab.exec('hub', [process.execPath, MAIN, 'delete', kind, name, '--etcd', this.etcd!.url]);
  }

  /** The retained message on a topic, or undefined. */
  async retained(topic: string): Promise<Uint8Array | undefined> {
    const r = await this.lab.exec('hub', [process.execPath, MQTT_TOOL, 'get', 'mqtt://127.0.0.1:1883', topic, '400']);
    return r.stdout ? new Uint8Array(Buffer.from(r.stdout, 'base64')) : undefined;
  }

  async publish(topic: string, payload: Uint8Array | string, retain = true): Promise<void> {
    const file = this.path(`payload-${Date.now()}`);
    await writeFile(file, payload);
    await this.lab.exec('hub', [process.execPath, MQTT_TOOL, 'pub', 'mqtt://127.0.0.1:1883', topic, file, ...(retain ? ['--retain'] : [])]);
  }

  async tcp(from: string, to: string, port: number): Promise<boolean> {
    return this.lab.tcp(from, to, port, { timeoutMs: 700 });
  }

  /** Whether c1 reaches gw (198.18.1.1) on TCP 80 and 443: the flows most suites assert on. */
  async gwFlows(): Promise<Record<number, boolean>> {
    const [p80, p443] = await Promise.all([this.tcp('c1', '198.18.1.1', 80), this.tcp('c1', '198.18.1.1', 443)]);
    return { 80: p80, 443: p443 };
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}
