// test/lab/icmp.ts — owns the raw-socket ICMP/ICMPv6 probe used by probe.ts.
// Bun has no raw sockets and `ping` only sends echo-requests, but policy tests
// need arbitrary ICMP types in the same concurrent batch as TCP/UDP probes, so
// this goes to libc through bun:ffi (glibc, root: CAP_NET_RAW).
import { dlopen, FFIType, ptr } from "bun:ffi";
import { AF_INET, AF_INET6, checksum, familyOf, sameAddr, sockaddr } from "./addr.ts";
import type { IcmpProbe, ProbeResult } from "./probe-types.ts";

const { symbols: libc } = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  sendto: {
    args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
    returns: FFIType.i64,
  },
  recvfrom: {
    args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.ptr],
    returns: FFIType.i64,
  },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
});

const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const POLL_MS = 5;



const u16 = (b: Uint8Array, at: number): number => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
const ipStr = (b: Uint8Array): string =>
  b.length === 4
    ? Array.from(b).join(".")
    : Array.from({ length: 8 }, (_, i) => u16(b, i * 2).toString(16)).join(":");

export function icmpProbe(p: IcmpProbe, timeoutMs: number): Promise<ProbeResult> {
  const v4 = familyOf(p.host) === 4;
  const type = p.type ?? (v4 ? 8 : 128);
  const id = Math.floor(Math.random() * 0xffff);
  const fd = libc.socket(v4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK, v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
  if (fd < 0) return Promise.resolve({ ok: false, error: "socket (need root / glibc)" });
  if (p.srcAddr) {
    const src = sockaddr(p.srcAddr);
    if (libc.bind(fd, ptr(src), src.length) < 0) {
      libc.close(fd);
      return Promise.resolve({ ok: false, error: `bind ${p.srcAddr}` });
    }
  }

  // 8-byte header + 12 bytes: long enough for a timestamp request (type 13).
  const pkt = new Uint8Array(20);
  pkt[0] = type;
  pkt[1] = p.code ?? 0;
  pkt[4] = id >> 8;
  pkt[5] = id & 0xff;
  pkt[7] = 1;
  if (v4) {
    const c = checksum(pkt); // the kernel fills in ICMPv6 checksums itself
    pkt[2] = c >> 8;
    pkt[3] = c & 0xff;
  }
  const dst = sockaddr(p.host);
  if (Number(libc.sendto(fd, ptr(pkt), pkt.length, 0, ptr(dst), dst.length)) < 0) {
    libc.close(fd);
    return Promise.resolve({ ok: false, error: "sendto" });
  }

  const buf = new Uint8Array(2048);
  const from = new Uint8Array(28);
  const fromLen = new Uint32Array([from.length]);
  const isError = (t: number) => (v4 ? [3, 4, 5, 11, 12].includes(t) : t < 128);

  // Returns a result for a packet that concerns this probe, else undefined.
  const inspect = (n: number): ProbeResult | undefined => {
    const ihl = v4 ? ((buf[0] ?? 0) & 0x0f) * 4 : 0;
    const src = v4 ? ipStr(buf.subarray(12, 16)) : ipStr(from.subarray(8, 24));
    const icmp = buf.subarray(ihl, n);
    const t = icmp[0] ?? 0;
    const code = icmp[1] ?? 0;
    if (isError(t)) {
      // The error quotes our packet: check its destination, type and id.
      const inner = icmp.subarray(8);
      const innerIcmp = v4 ? inner.subarray(((inner[0] ?? 0) & 0x0f) * 4) : inner.subarray(40);
      const innerDst = v4 ? inner.subarray(16, 20) : inner.subarray(24, 40);
      if (innerIcmp.length < 6 || !sameAddr(ipStr(innerDst), p.host)) return undefined;
      if (innerIcmp[0] !== type || u16(innerIcmp, 4) !== id) return undefined;
      const unreach = v4 ? t === 3 : t === 1;
      return { ok: false, error: unreach ? `unreachable:${code}` : `icmp:${t}/${code}` };
    }
    // Our own request shows up too when probing a local address.
    if (t === type || !sameAddr(src, p.host) || u16(icmp, 4) !== id) return undefined;
    return { ok: true, reply: `${t}/${code}` };
  };

  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    const timer = setInterval(() => {
      for (;;) {
        fromLen[0] = from.length;
        const n = Number(libc.recvfrom(fd, ptr(buf), buf.length, 0, ptr(from), ptr(fromLen)));
        if (n <= 0) break;
        const r = inspect(n);
        if (r) return finish(r);
      }
      if (Date.now() >= deadline) finish({ ok: false, error: "timeout" });
    }, POLL_MS);
    const finish = (r: ProbeResult) => {
      clearInterval(timer);
      libc.close(fd);
      resolve(r);
    };
  });
}
