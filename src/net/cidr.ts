/**
 * IPv4/IPv6 addresses and CIDRs as numbers: parsing, canonical text, containment, and the
 * de-duplication nftables interval sets need (they reject overlapping elements, so a CIDR
 * covered by a broader member must be left out, as Felix's nft mode does).
 *
 * Pure; no dependencies. Addresses are held as bigint so v4 and v6 share one code path.
 */
import type { Family } from '../plan/schema.ts';

export interface Cidr {
  readonly family: Family;
  /** Network address (host bits may be set when parsed non-strictly). */
  readonly addr: bigint;
  readonly len: number;
}

const bits = (f: Family): number => (f === 4 ? 32 : 128);

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const x = Number(p);
    if (x > 255 || (p.length > 1 && p.startsWith('0'))) return null;
    n = (n << 8n) | BigInt(x);
  }
  return n;
}

function parseV6(s: string): bigint | null {
  if (s.length < 2 || s.includes(':::')) return null;
  let text = s;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    // Embedded IPv4 ("::ffff:198.18.0.1"): rewrite the tail as two hex groups.
    const v4 = parseV4(tail);
    if (v4 === null) return null;
    text = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const dbl = text.split('::');
  if (dbl.length > 2) return null;
  const left = dbl[0] ? dbl[0].split(':') : [];
  const right = dbl.length === 2 && dbl[1] ? dbl[1].split(':') : [];
  const given = left.length + right.length;
  if (dbl.length === 1 ? given !== 8 : given > 7) return null;
  const groups = [...left, ...Array<string>(8 - given).fill('0'), ...right];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** Parses a plain address (no prefix). */
export function parseIp(s: string): { family: Family; addr: bigint } | null {
  if (s.includes(':')) {
    const a = parseV6(s);
    return a === null ? null : { family: 6, addr: a };
  }
  const a = parseV4(s);
  return a === null ? null : { family: 4, addr: a };
}

/** Parses "addr/len" or a bare address (as a host route). */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return null;
  if (slash < 0) return { family: ip.family, addr: ip.addr, len: bits(ip.family) };
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return null;
  const len = Number(lenText);
  if (len > bits(ip.family)) return null;
  return { family: ip.family, addr: ip.addr, len };
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
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 255n)).join('.');
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((addr >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (≥2) of zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
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
  const parsed: Cidr[] = [];
  for (const s of cidrs) {
    const c = parseCidr(s);
    if (c && c.family === family) parsed.push(c);
  }
  return intervalMembers(parsed).map(formatCidr);
}

export function familyOf(s: string): Family | null {
  return parseCidr(s)?.family ?? null;
}
