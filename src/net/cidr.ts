/**
 * IPv4/IPv6 addresses and CIDRs as numbers: parsing, canonical text, containment, and the
 * de-duplication nftables interval sets need (they reject overlapping elements, so a CIDR
 * covered by a broader member must be left out, as Felix's nft mode does).
 *
 * Pure. Parsing is ip.ts's (exactly Go's rules); here addresses are bigints so v4 and v6 share one code path.
 */
import type { Family } from '../plan/schema.ts';
import { formatIP, formatNetwork, parseCIDROrIP, parseIP } from './ip.ts';

export interface Cidr {
  readonly family: Family;
  /** Network address (host bits may be set when parsed non-strictly). */
  readonly addr: bigint;
  readonly len: number;
}

const bits = (f: Family): number => (f === 4 ? 32 : 128);

const toBigint = (bytes: Uint8Array): bigint => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);

function toBytes(family: Family, addr: bigint): Uint8Array {
  const out = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = out.length - 1, a = addr; i >= 0; i--, a >>= 8n) out[i] = Number(a & 255n);
  return out;
}

/** Parses a plain address (no prefix), accepting exactly what Go's net.ParseIP accepts. */
export function parseIp(s: string): { family: Family; addr: bigint } | null {
  const ip = parseIP(s);
  return ip ? { family: ip.version, addr: toBigint(ip.bytes) } : null;
}

/** Parses "addr/len" or a bare address (as a host route). */
export function parseCidr(s: string): Cidr | null {
  const c = parseCIDROrIP(s);
  return c ? { family: c.version, addr: toBigint(c.ip), len: c.prefix } : null;
}

const hostMask = (c: { family: Family; len: number }): bigint => (1n << BigInt(bits(c.family) - c.len)) - 1n;

/** True when no host bits are set ("10.0.0.0/24" yes, "10.0.0.1/24" no). */
export function isStrictlyMasked(c: Cidr): boolean {
  return (c.addr & hostMask(c)) === 0n;
}

/** The network containing c, with host bits cleared. */
export function network(c: Cidr): Cidr {
  return { family: c.family, addr: c.addr & ~hostMask(c), len: c.len };
}

export function formatIp(family: Family, addr: bigint): string {
  return formatIP(toBytes(family, addr));
}

/** Canonical text: network address and explicit prefix length. */
export function formatCidr(c: Cidr): string {
  const n = network(c);
  return `${formatIp(n.family, n.addr)}/${n.len}`;
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.len > inner.len) return false;
  const m = ~hostMask(outer);
  return (outer.addr & m) === (inner.addr & m);
}

function compareCidr(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.addr !== b.addr) return a.addr < b.addr ? -1 : 1;
  return a.len - b.len;
}

/**
 * Canonical, sorted, non-overlapping members for an nftables interval set: networks
 * normalised, a /0 split into two /1s (nft cannot hold a /0 element), and any CIDR covered
 * by a broader one dropped.
 */
export function intervalMembers(cidrs: Iterable<Cidr>): Cidr[] {
  const all: Cidr[] = [];
  for (const raw of cidrs) {
    const c = network(raw);
    if (c.len === 0) {
      const half = 1n << BigInt(bits(c.family) - 1);
      all.push({ family: c.family, addr: 0n, len: 1 }, { family: c.family, addr: half, len: 1 });
    } else all.push(c);
  }
  // Sorted by address then prefix length, a covering CIDR always precedes what it covers.
  all.sort(compareCidr);
  const out: Cidr[] = [];
  for (const c of all) {
    const last = out[out.length - 1];
    if (last && cidrContains(last, c)) continue;
    out.push(c);
  }
  return out;
}

/** Interval members as canonical strings, for one family only. */
export function intervalStrings(cidrs: Iterable<string>, family: Family): string[] {
  const list = Array.isArray(cidrs) ? (cidrs as string[]) : [...cidrs];
  return intervalStringsOf(list, family);
}

/**
 * Parsed IPv4 CIDR as plain numbers: render asks for every rule's nets per family, and the
 * bigint path of `parseCidr` + `formatCidr` was about 40% of rendering a 10,000-rule node.
 */
type V4 = { addr: number; len: number };

const v4Mask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

function parseV4Cidr(s: string): V4 | null {
  const c = parseCIDROrIP(s);
  if (!c || c.version !== 4) return null;
  const [a = 0, b = 0, d = 0, e = 0] = c.ip;
  const len = c.prefix;
  return { addr: (((a << 24) | (b << 16) | (d << 8) | e) & v4Mask(len)) >>> 0, len };
}

const formatV4 = ({ addr, len }: V4): string => `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${len}`;

/** IPv4 interval members with numbers: the same result as intervalMembers on the bigint form. */
function v4IntervalStrings(cidrs: readonly string[]): string[] {
  const all: V4[] = [];
  for (const s of cidrs) {
    // A v6 address always has a ':'; an IPv4 one never does: the other family costs no parse.
    if (s.includes(':')) continue;
    const c = parseV4Cidr(s);
    if (!c) continue;
    if (c.len === 0) all.push({ addr: 0, len: 1 }, { addr: 0x80000000, len: 1 });
    else all.push(c);
  }
  if (all.length === 1) return [formatV4(all[0]!)];
  all.sort((a, b) => a.addr - b.addr || a.len - b.len);
  const out: V4[] = [];
  for (const c of all) {
    const last = out[out.length - 1];
    if (last && last.len <= c.len && ((c.addr & v4Mask(last.len)) >>> 0) === last.addr) continue;
    out.push(c);
  }
  return out.map(formatV4);
}

/** intervalStrings for an array: IPv4 with plain numbers, IPv6 (rarer in rules) with bigints. */
export function intervalStringsOf(cidrs: readonly string[], family: Family): string[] {
  if (family === 4) return v4IntervalStrings(cidrs);
  // One IPv6 net (the usual rule): its network, without the bigint round trip.
  const only = cidrs.length === 1 ? parseCIDROrIP(cidrs[0]!) : undefined;
  if (only?.version === 6 && only.prefix > 0) return [formatNetwork(only)];
  const parsed: Cidr[] = [];
  for (const s of cidrs) {
    if (!s.includes(':')) continue;
    const c = parseCidr(s);
    if (c && c.family === 6) parsed.push(c);
  }
  return intervalMembers(parsed).map(formatCidr);
}

export function familyOf(s: string): Family | null {
  return parseCidr(s)?.family ?? null;
}
