#!/usr/bin/env bun
// test/lab/responder.ts — owns the server side of lab traffic: TCP and UDP
// listeners inside one namespace that answer with a tag naming the host.
//
//   bun responder.ts --tcp 22,80,443 --udp 53,123 [--tag gw]
//
// TCP: writes "<tag>\n" to each connection and closes. UDP: answers every
// datagram with "<tag>". Prints "ready" once every listener is bound, and one
// "hit <proto> <port> <peer>" line per flow, so a test can see a packet arrive
// even when a rule drops the answer.
import dgram from "node:dgram";
import net from "node:net";
import { hostname, networkInterfaces } from "node:os";

function ports(list: string | undefined): number[] {
  if (!list) return [];
  return list.split(",").map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`bad port ${JSON.stringify(s)}`);
    return n;
  });
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const tag = arg("--tag") ?? hostname();
const log = (line: string) => process.stdout.write(`${line}\n`);

function listenTcp(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => {
      log(`hit tcp ${port} [${sock.remoteAddress}]:${sock.remotePort}`);
      sock.on("error", () => {}); // a peer resetting must not kill the responder
      sock.end(`${tag}\n`);
    });
    server.once("error", reject);
    // "::" with bindv6only=0 (the netns default) also accepts IPv4, mapped.
    server.listen({ port, host: "::" }, () => resolve());
  });
}

function bindUdp(port: number, address: string, family: "udp4" | "udp6"): Promise<void> {
  return new Promise((resolve, reject) => {
    // reuseAddr lets the per-address sockets coexist with the wildcard one.
    const sock = dgram.createSocket({ type: family, reuseAddr: true });
    sock.on("message", (_msg, peer) => {
      log(`hit udp ${port} [${peer.address}]:${peer.port}`);
      sock.send(tag, peer.port, peer.address);
    });
    sock.once("error", reject);
    sock.bind(port, address, () => resolve());
  });
}

// A wildcard UDP socket replies from whatever source the route picks, which on
// a multi-homed host may not be the address the client sent to, and a
// connected client socket then discards the reply. So bind every configured
// address as well (the kernel prefers the exact match) and keep the wildcard
// only for addresses added after startup.
function localAddresses(): { address: string; family: "udp4" | "udp6" }[] {
  const out: { address: string; family: "udp4" | "udp6" }[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === "IPv6" && a.address.toLowerCase().startsWith("fe80")) continue;
      out.push({ address: a.address, family: a.family === "IPv4" ? "udp4" : "udp6" });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const tcp = ports(arg("--tcp"));
  const udp = ports(arg("--udp"));
  const addrs = localAddresses();
  await Promise.all([
    ...tcp.map(listenTcp),
    ...udp.flatMap((p) => [bindUdp(p, "::", "udp6"), ...addrs.map((a) => bindUdp(p, a.address, a.family))]),
  ]);
  log("ready");
}

main().catch((e: unknown) => {
  process.stderr.write(`responder: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
