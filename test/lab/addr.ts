// test/lab/addr.ts — owns the lab's address-space guard and the small IP
// helpers shared by lab.ts, probe.ts and icmp.ts. Lab traffic must stay in
// the benchmarking range 198.18.0.0/15 and the ULA range fd00::/8 so that a
// mis-wired test can never look like (or leak towards) a real network.
import { isIPv4, isIPv6 } from "node:net";

export type Family = 4 | 6;

export function familyOf(addr: string): Family {
  if (isIPv4(addr)) return 4;
  if (isIPv6(addr)) return 6;
  throw new Error(`not an IP address: ${JSON.stringify(addr)}`);
}

/** 16 bytes of an IPv6 address (no zone), or 4 bytes of an IPv4 one. */
export function addrBytes(addr: string): Uint8Array {
  if (familyOf(addr) === 4) return Uint8Array.from(addr.split(".").map(Number));
  const [head = "", tail] = addr.toLowerCase().split("::") as [string, string | undefined];
  const words = (s: string): number[] => {
    if (s === "") return [];
    const out: number[] = [];
    for (const part of s.split(":")) {
      // An embedded dotted quad ("::ffff:1.2.3.4") is two 16-bit words.
      if (part.includes(".")) {
        const b = part.split(".").map(Number);
        out.push(((b[0] ?? 0) << 8) | (b[1] ?? 0), ((b[2] ?? 0) << 8) | (b[3] ?? 0));
      } else out.push(parseInt(part, 16));
    }
    return out;
  };
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

export function sameAddr(a: string, b: string): boolean {
  const x = addrBytes(a);
  const y = addrBytes(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function inLabRange(addr: string): boolean {
  const b = addrBytes(addr);
  if (b.length === 4) return b[0] === 198 && (b[1] === 18 || b[1] === 19);
  return b[0] === 0xfd;
}

function isLoopback(addr: string): boolean {
  const b = addrBytes(addr);
  if (b.length === 4) return b[0] === 127;
  return b.every((v, i) => v === (i === 15 ? 1 : 0));
}

/** A bare address that tests may talk to: lab range, or the ns's own loopback. */
export function assertProbeTarget(addr: string): Family {
  const fam = familyOf(addr);
  if (!inLabRange(addr) && !isLoopback(addr)) {
    throw new Error(`lab address ${addr} is outside 198.18.0.0/15 and fd00::/8`);
  }
  return fam;
}

/** A bare address that may be configured or routed via: lab range only. */
export function assertLabAddress(addr: string): Family {
  const fam = familyOf(addr);
  if (!inLabRange(addr)) throw new Error(`lab address ${addr} is outside 198.18.0.0/15 and fd00::/8`);
  return fam;
}

/** "addr/len" wholly inside the lab range (the prefix may not widen past it). */
export function assertLabCidr(cidr: string): Family {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!m?.[1] || !m[2]) throw new Error(`not a CIDR: ${JSON.stringify(cidr)}`);
  const fam = assertLabAddress(m[1]);
  const len = Number(m[2]);
  const [min, max] = fam === 4 ? [15, 32] : [8, 128];
  if (len < min || len > max) throw new Error(`lab prefix ${cidr} is wider than the lab range`);
  return fam;
}

export const AF_INET = 2;
export const AF_INET6 = 10;

/** A struct sockaddr_in / sockaddr_in6 for a raw socket's sendto (port 0). */
export function sockaddr(addr: string): Uint8Array {
  const v4 = familyOf(addr) === 4;
  const sa = new Uint8Array(v4 ? 16 : 28);
  // sa_family is host byte order; a Uint16Array view writes it natively.
  new Uint16Array(sa.buffer, 0, 1)[0] = v4 ? AF_INET : AF_INET6;
  sa.set(addrBytes(addr), v4 ? 4 : 8);
  return sa;
}

/** The Internet checksum (RFC 1071) over `b`. */
export function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}
