/**
 * Health probes for commit-confirmed applies (commit-confirm.ts): can this host still reach what
 * it must reach? Each probe answers pass or fail within a short timeout and never throws.
 *
 * - `tcp:ADDR:PORT` (IPv6 as `tcp:[ADDR]:PORT`): a TCP connect completes. A refused connect fails:
 *   the probe stands for a service (a DNS server, a gateway's SSH), not just for the path.
 * - `icmp:ADDR`: one echo reply, via the system's `ping` (the agent runs as root; no raw socket
 *   code of our own). No `ping` on the host means the probe always fails, so it never triggers a
 *   rollback (a probe that fails before the apply is ignored), and the agent says so at start.
 * - the broker: the MQTT link's own state; only while it is down, a connect to the broker
 *   (brokerProbe below).
 */
import { connect } from 'node:net';
import { isIP } from 'node:net';
import { execa } from 'execa';

export interface Probe {
  /** As configured ("tcp:198.18.3.2:53"), or "broker"; used in logs and the status. */
  readonly name: string;
  check(): Promise<boolean>;
}

export type ProbeSpec = { readonly kind: 'tcp'; readonly addr: string; readonly port: number } | { readonly kind: 'icmp'; readonly addr: string };

/** Parses one configured probe; a string describing the problem when it is not valid. */
export function parseProbe(text: string): ProbeSpec | string {
  const m = /^(tcp|icmp):(.+)$/.exec(text.trim());
  if (!m) return `probe "${text}": expected tcp:ADDR:PORT or icmp:ADDR`;
  const rest = m[2]!;
  if (m[1] === 'icmp') return isIP(rest) ? { kind: 'icmp', addr: rest } : `probe "${text}": "${rest}" is not an IP address`;
  const hp = /^\[([^\]]+)\]:(\d{1,5})$/.exec(rest) ?? /^([^:]+):(\d{1,5})$/.exec(rest);
  if (!hp) return `probe "${text}": expected tcp:ADDR:PORT (IPv6 as tcp:[ADDR]:PORT)`;
  const addr = hp[1]!;
  const port = Number(hp[2]);
  if (!isIP(addr)) return `probe "${text}": "${addr}" is not an IP address`;
  if (port < 1 || port > 65535) return `probe "${text}": port ${port} is out of range`;
  return { kind: 'tcp', addr, port };
}

/** Passes when a TCP connection to addr:port completes within timeoutMs. */
export function tcpProbe(name: string, addr: string, port: number, timeoutMs: number): Probe {
  return {
    name,
    check: async () => (await tcpConnect(addr, port, timeoutMs)) === 'connected',
  };
}

/** How a TCP connect ended: completed, refused (an RST: the path works, nothing listens), or neither in time. */
function tcpConnect(addr: string, port: number, timeoutMs: number): Promise<'connected' | 'refused' | 'failed'> {
  return new Promise((resolve) => {
    const s = connect({ host: addr, port });
    const done = (r: 'connected' | 'refused' | 'failed') => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('failed'), timeoutMs);
    s.once('connect', () => done('connected'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'failed'));
  });
}

/**
 * The broker probe: passes while the MQTT link is up. While it is down, a TCP connect to the
 * broker's addresses decides whether this host's path is the problem: an answer (even a refusal:
 * the broker process is down or restarting, the host's kernel replied) passes; silence fails. So a
 * relay or Mosquitto that restarts within the window does not roll back a good revision.
 */
export function brokerProbe(connected: () => boolean, targets: () => readonly { addr: string; port: number }[], timeoutMs: number): Probe {
  return {
    name: 'broker',
    check: async () => {
      if (connected()) return true;
      const r = await Promise.all(targets().map((t) => tcpConnect(t.addr, t.port, timeoutMs)));
      return r.some((x) => x !== 'failed');
    },
  };
}

/** Passes when one ICMP echo is answered within timeoutMs (rounded up to whole seconds for ping's -W). */
export function icmpProbe(name: string, addr: string, timeoutMs: number, ping = 'ping'): Probe {
  const waitS = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  return {
    name,
    check: async () => {
      const r = await execa(ping, [isIP(addr) === 6 ? '-6' : '-4', '-n', '-q', '-c', '1', '-W', waitS, addr], { reject: false, timeout: timeoutMs + 1000, stdin: 'ignore' });
      return r.exitCode === 0;
    },
  };
}

/** The probes the agent's `probes` setting names (already validated by the config schema). */
export function configuredProbes(texts: readonly string[], timeoutMs = 1000): Probe[] {
  const out: Probe[] = [];
  for (const t of texts) {
    const p = parseProbe(t);
    if (typeof p === 'string') continue;
    out.push(p.kind === 'tcp' ? tcpProbe(t.trim(), p.addr, p.port, timeoutMs) : icmpProbe(t.trim(), p.addr, timeoutMs));
  }
  return out;
}
