#!/usr/bin/env bun
// test/integration/odd-packets.ts — sends the packets felix-parity.test.ts needs and the lab's
// probe cannot make, through raw sockets (bun:ffi to glibc, root), and prints one word:
//
//   bun odd-packets.ts tcp-ack SRC DST PORT    a bare TCP ACK that belongs to no connection;
//                                              prints "rst" if DST answered with a reset
//   bun odd-packets.ts proto SRC DST PROTO     an IPv4 or IPv6 packet with IP protocol PROTO
//                                              (e.g. 58 over IPv4); prints "unreachable" if DST
//                                              answered "protocol unreachable" (v4 3/2, v6 4/1)
//
// Anything else is "silent" (dropped on the way, or never answered within a second).
import { dlopen, FFIType, ptr } from "bun:ffi";
import { AF_INET, AF_INET6, addrBytes, assertProbeTarget, checksum, familyOf, sameAddr, sockaddr } from "../lab/addr.ts";

const { symbols: libc } = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
  recvfrom: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
});
const SOCK_RAW_NONBLOCK = 3 | 0o4000;
const WAIT_MS = 1000;



const u16 = (b: Uint8Array, at: number) => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
const put16 = (b: Uint8Array, at: number, v: number) => {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
};

function socketOrThrow(af: number, proto: number): number {
  const fd = libc.socket(af, SOCK_RAW_NONBLOCK, proto);
  if (fd < 0) throw new Error(`raw socket ${af}/${proto} (need root)`);
  return fd;
}

function send(fd: number, pkt: Uint8Array, dst: string): void {
  const sa = sockaddr(dst);
  if (Number(libc.sendto(fd, ptr(pkt), pkt.length, 0, ptr(sa), sa.length)) < 0) throw new Error("sendto failed");
}

/** Polls fd until `seen` accepts a packet (data, sender bytes) or the wait ends. */
async function await_(fd: number, seen: (pkt: Uint8Array, from: Uint8Array) => boolean): Promise<boolean> {
  const buf = new Uint8Array(2048);
  const from = new Uint8Array(28);
  const fromLen = new Uint32Array([from.length]);
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    for (;;) {
      fromLen[0] = from.length;
      const n = Number(libc.recvfrom(fd, ptr(buf), buf.length, 0, ptr(from), ptr(fromLen)));
      if (n <= 0) break;
      if (seen(buf.subarray(0, n), from)) return true;
    }
    await Bun.sleep(5);
  }
  return false;
}

async function tcpAck(src: string, dst: string, port: number): Promise<string> {
  if (familyOf(src) !== 4 || familyOf(dst) !== 4) throw new Error("tcp-ack is IPv4 only");
  const fd = socketOrThrow(AF_INET, 6);
  try {
    const sport = 40000 + Math.floor(Math.random() * 20000);
    const tcp = new Uint8Array(20);
    put16(tcp, 0, sport);
    put16(tcp, 2, port);
    crypto.getRandomValues(tcp.subarray(4, 12)); // seq and ack of no known connection
    tcp[12] = 5 << 4;
    tcp[13] = 0x10; // ACK only
    put16(tcp, 14, 1024);
    const pseudo = new Uint8Array(12 + 20);
    pseudo.set(addrBytes(src), 0);
    pseudo.set(addrBytes(dst), 4);
    pseudo[9] = 6;
    put16(pseudo, 10, 20);
    pseudo.set(tcp, 12);
    put16(tcp, 16, checksum(pseudo));
    send(fd, tcp, dst);
    const rst = await await_(fd, (pkt) => {
      const ihl = ((pkt[0] ?? 0) & 0x0f) * 4;
      const t = pkt.subarray(ihl);
      return sameAddr(Array.from(pkt.subarray(12, 16)).join("."), dst) && u16(t, 0) === port && u16(t, 2) === sport && ((t[13] ?? 0) & 0x04) !== 0;
    });
    return rst ? "rst" : "silent";
  } finally {
    libc.close(fd);
  }
}

async function proto(src: string, dst: string, protocol: number): Promise<string> {
  const v4 = familyOf(dst) === 4;
  const out = socketOrThrow(v4 ? AF_INET : AF_INET6, protocol);
  const icmp = socketOrThrow(v4 ? AF_INET : AF_INET6, v4 ? 1 : 58);
  try {
    send(out, new Uint8Array(16), dst);
    const answered = await await_(icmp, (pkt, from) => {
      if (v4) {
        const ihl = ((pkt[0] ?? 0) & 0x0f) * 4;
        const m = pkt.subarray(ihl);
        const inner = m.subarray(8);
        return sameAddr(Array.from(pkt.subarray(12, 16)).join("."), dst) && m[0] === 3 && m[1] === 2 && inner[9] === protocol;
      }
      const fromAddr = Array.from({ length: 8 }, (_, i) => u16(from, 8 + i * 2).toString(16)).join(":");
      return sameAddr(fromAddr, dst) && pkt[0] === 4 && pkt[1] === 1 && pkt[8 + 6] === protocol;
    });
    void src;
    return answered ? "unreachable" : "silent";
  } finally {
    libc.close(out);
    libc.close(icmp);
  }
}

const [mode, src = "", dst = "", num = ""] = process.argv.slice(2);
assertProbeTarget(src);
assertProbeTarget(dst);
const result = mode === "tcp-ack" ? await tcpAck(src, dst, Number(num)) : mode === "proto" ? await proto(src, dst, Number(num)) : undefined;
if (result === undefined) throw new Error("usage: odd-packets.ts tcp-ack|proto SRC DST N");
console.log(result);
