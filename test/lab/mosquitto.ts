/**
 * A real Mosquitto (Debian's package) inside a lab host, with its own config file, listening
 * on the given lab or loopback addresses. No persistence: a restart loses every retained
 * message, which is exactly the broker failure the relay must recover from.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lab, LabProcess } from './lab.ts';

/**
 * A TLS listener with client certificates required: the certificate's CN is the username
 * (use_identity_as_username), and the ACL file decides what each may read and write.
 */
export interface MosquittoTls {
  readonly cafile: string;
  readonly certfile: string;
  readonly keyfile: string;
  readonly aclFile: string;
}

/**
 * A bridge from this broker to another (the remote one is the "central" side): Mosquitto
 * connects out as a client and forwards the given topics (`<pattern> in|out|both <qos>`). A
 * persistent session (cleansession false), so the remote broker queues QoS 1 messages for the
 * bridge while the link is down.
 */
export interface MosquittoBridge {
  readonly name: string;
  /** host:port of the remote broker. */
  readonly address: string;
  readonly topics: readonly string[];
  /** How soon a dead link is noticed (MQTT keepalive, seconds). Default 60, Mosquitto's. */
  readonly keepaliveS?: number;
}

export class Mosquitto {
  private proc: LabProcess | undefined;

  private constructor(
    private readonly lab: Lab,
    readonly host: string,
    private readonly conf: string,
  ) {}

  static async start(lab: Lab, host: string, dir: string, listen: readonly string[], port = 1883, tls?: MosquittoTls, more: { bridge?: MosquittoBridge } = {}): Promise<Mosquitto> {
    const conf = join(dir, `mosquitto-${host}${tls ? `-tls-${port}` : ''}.conf`);
    const lines = ['per_listener_settings false', `allow_anonymous ${tls ? 'false' : 'true'}`, 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'];
    // The lab's files are root's (keys 0600 in a 0700 temp dir): no drop to the mosquitto user,
    // which could not read them. A real install chowns the broker's key to that user (README).
    if (tls) lines.push(`acl_file ${tls.aclFile}`, 'user root');
    for (const a of listen) {
      lines.push(`listener ${port} ${a}`);
      if (tls) lines.push(`cafile ${tls.cafile}`, `certfile ${tls.certfile}`, `keyfile ${tls.keyfile}`, 'require_certificate true', 'use_identity_as_username true');
    }
    const { bridge } = more;
    // Last: every line after `connection` belongs to that bridge.
    if (bridge) {
      lines.push(`connection ${bridge.name}`, `address ${bridge.address}`, ...bridge.topics.map((t) => `topic ${t}`));
      lines.push('cleansession false', `clientid ${bridge.name}-bridge`, `keepalive_interval ${bridge.keepaliveS ?? 60}`, 'restart_timeout 1 3', 'notifications false');
    }
    await writeFile(conf, `${lines.join('\n')}\n`);
    const m = new Mosquitto(lab, host, conf);
    await m.resume();
    return m;
  }

  /** What the broker logged so far (this run). */
  get log(): string {
    return this.proc?.stderr ?? '';
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Starts it again with the same config (a broker restart: retained messages are gone). */
  async resume(): Promise<void> {
    const p = this.lab.spawn(this.host, ['mosquitto', '-c', this.conf]);
    this.proc = p;
    await p.waitFor(/mosquitto version .* running/, 10_000);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  /**
   * Freezes (SIGSTOP) or thaws (SIGCONT) the broker: its sockets stay open and nothing answers,
   * as with a broker host that hangs or a link that dies without a reset.
   */
  freeze(frozen: boolean): void {
    const pid = this.proc?.pid;
    if (pid !== undefined) process.kill(pid, frozen ? 'SIGSTOP' : 'SIGCONT');
  }
}
