// test/lab/probe-types.ts — owns the wire format between lab.ts and probe.ts
// (probes go in as a JSON array, results come back as one JSON line).

export interface PortProbe {
  kind: "tcp" | "udp";
  host: string;
  port: number;
  /** Bind this source port (tests of sport-matching rules). */
  srcPort?: number;
  /** Bind this source address (multi-homed senders). */
  srcAddr?: string;
  /** UDP datagram body; default "probe". */
  payload?: string;
}

export interface IcmpProbe {
  kind: "icmp";
  host: string;
  /** ICMP (v4) or ICMPv6 type; default echo-request (8 / 128). */
  type?: number;
  code?: number;
  srcAddr?: string;
}

export type Probe = PortProbe | IcmpProbe;

/**
 * tcp: ok once connected; reply is whatever the peer wrote before closing.
 * udp: ok once a datagram came back; reply is its body.
 * icmp: ok once the target answered (e.g. echo-reply); reply is "type/code".
 * error: "timeout" | "refused" | "unreachable" | "unreachable:<icmp code>" |
 * "icmp:<type>/<code>" | an errno name.
 */
export type ProbeResult = { ok: true; reply: string } | { ok: false; error: string };

export const DEFAULT_PROBE_TIMEOUT_MS = 700;
