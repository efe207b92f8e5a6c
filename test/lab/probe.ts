#!/usr/bin/env bun
// test/lab/probe.ts — owns client-side traffic generation inside a lab
// namespace. Runs a whole batch of TCP/UDP/ICMP probes concurrently so that a
// test checking many flows pays for one process spawn and one timeout.
//
//   bun probe.ts [--timeout 700] '<json array>' | <file> | -
//
// Prints exactly one JSON line: an array of ProbeResult in probe order.
import dgram from "node:dgram";
import net from "node:net";
import { readFileSync } from "node:fs";
import { assertProbeTarget, familyOf } from "./addr.ts";
import { icmpProbe } from "./icmp.ts";
import { DEFAULT_PROBE_TIMEOUT_MS, type PortProbe, type Probe, type ProbeResult } from "./probe-types.ts";

function errorName(e: unknown): string {
  const code = e instanceof Error && "code" in e ? String(e.code) : String(e);
  switch (code) {
    case "ECONNREFUSED":
      return "refused";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "unreachable";
    case "ETIMEDOUT":
      return "timeout";
    default:
      return code;
  }
}

function tcpProbe(p: PortProbe, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let connected = false;
    let reply = "";
    let done = false;
    const sock = net.connect({
      host: p.host,
      port: p.port,
      ...(p.srcPort !== undefined ? { localPort: p.srcPort } : {}),
      ...(p.srcAddr !== undefined ? { localAddress: p.srcAddr } : {}),
    });
    const finish = (failure?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      // Once the handshake completed the flow is allowed, whatever came after.
      resolve(connected ? { ok: true, reply: reply.trim() } : { ok: false, error: failure ?? "timeout" });
    };
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => (connected = true));
    sock.on("data", (d: string) => (reply += d));
    sock.on("close", () => finish("closed"));
    sock.on("error", (e) => finish(errorName(e)));
  });
}

function udpProbe(p: PortProbe, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({
      type: familyOf(p.host) === 4 ? "udp4" : "udp6",
      // Lets several probes in one batch share a source port.
      reuseAddr: p.srcPort !== undefined,
    });
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, error: "timeout" }), timeoutMs);
    sock.on("error", (e) => finish({ ok: false, error: errorName(e) }));
    sock.on("message", (msg) => finish({ ok: true, reply: msg.toString("utf8").trim() }));
    // Connecting makes an ICMP port-unreachable surface as ECONNREFUSED and
    // filters out datagrams from anyone but the target.
    // Bun hands connect errors (no route) to the callback, without an errno;
    // a UDP connect can only fail on routing, hence "unreachable".
    const go = () =>
      sock.connect(p.port, p.host, (err?: unknown) => {
        if (err) finish({ ok: false, error: "unreachable" });
        else if (!done) sock.send(p.payload ?? "probe");
      });
    if (p.srcPort !== undefined || p.srcAddr !== undefined) {
      sock.bind({ port: p.srcPort ?? 0, ...(p.srcAddr !== undefined ? { address: p.srcAddr } : {}) }, go);
    } else go();
  });
}

function parse(raw: unknown): Probe[] {
  if (!Array.isArray(raw)) throw new Error("probes must be a JSON array");
  return raw.map((p: unknown, i) => {
    const o = p as { kind?: unknown; host?: unknown; port?: unknown; srcAddr?: unknown };
    if (typeof o !== "object" || o === null || typeof o.host !== "string") {
      throw new Error(`probe ${i}: needs a host`);
    }
    assertProbeTarget(o.host);
    if (typeof o.srcAddr === "string") assertProbeTarget(o.srcAddr);
    if (o.kind === "icmp") return p as Probe;
    if (o.kind !== "tcp" && o.kind !== "udp") throw new Error(`probe ${i}: unknown kind ${String(o.kind)}`);
    if (!Number.isInteger(o.port)) throw new Error(`probe ${i}: needs an integer port`);
    return p as Probe;
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let timeoutMs = DEFAULT_PROBE_TIMEOUT_MS;
  let spec: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--timeout") timeoutMs = Number(args[++i]);
    else spec = a;
  }
  if (spec === undefined || !Number.isFinite(timeoutMs)) {
    throw new Error("usage: probe.ts [--timeout ms] '<json>' | <file> | -");
  }
  const text = spec.trimStart().startsWith("[")
    ? spec
    : spec === "-"
      ? await Bun.stdin.text()
      : readFileSync(spec, "utf8");
  const probes = parse(JSON.parse(text));
  const results = await Promise.all(
    probes.map((p) =>
      p.kind === "icmp" ? icmpProbe(p, timeoutMs) : p.kind === "tcp" ? tcpProbe(p, timeoutMs) : udpProbe(p, timeoutMs),
    ),
  );
  const line = `${JSON.stringify(results)}\n`;
  // Pipes are asynchronous; exiting before the write drains would lose it.
  await new Promise<void>((r) => process.stdout.write(line, () => r()));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`probe: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
