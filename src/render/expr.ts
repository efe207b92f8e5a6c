/**
 * Builders for the nft JSON expressions and statements outpost uses, so chain code reads as
 * intent ("match source in set") rather than JSON plumbing.
 */
import type { NftExpr } from '../nft/json-types.ts';
import type { Family, PortRange } from '../plan/schema.ts';
import { logPrefix } from './naming.ts';

export interface Marks {
  readonly accept: number;
  readonly pass: number;
}

const meta = (key: string): NftExpr => ({ meta: { key } });
const payload = (protocol: string, field: string): NftExpr => ({ payload: { protocol, field } });
const match = (left: NftExpr, right: unknown, op: '==' | '!=' | 'in' = '=='): NftExpr => ({ match: { op, left, right } });

/**
 * One object per distinct leaf expression, shared by every rule that uses it: a 10,000-rule node
 * repeats the same few (family, protocol, address and port fields, mark verdicts) tens of
 * thousands of times, and JSON output does not care that they are shared. Rendered expressions
 * are never edited in place (not frozen: JSON.stringify walks frozen objects about 20% slower).
 */
const shared = new Map<string, NftExpr>();
function once(key: string, make: () => NftExpr): NftExpr {
  let e = shared.get(key);
  if (e === undefined) {
    e = make();
    shared.set(key, e);
  }
  return e;
}

export const addrOf = (family: Family, side: 'saddr' | 'daddr'): NftExpr => once(`a${family}${side}`, () => payload(family === 4 ? 'ip' : 'ip6', side));
export const portOf = (side: 'sport' | 'dport'): NftExpr => once(`p${side}`, () => payload('th', side));

export const nfproto = (family: Family): NftExpr => once(`f${family}`, () => match(meta('nfproto'), family === 4 ? 'ipv4' : 'ipv6'));
export const l4proto = (proto: number, op: '==' | '!=' = '=='): NftExpr => once(`l${op}${proto}`, () => match(meta('l4proto'), proto, op));
/** `literal` is an nft ifname string from naming.ts's ifnameLiteral, never a raw interface name. */
export const ifname = (dir: 'iifname' | 'oifname', literal: string): NftExpr => match(meta(dir), literal);
// ct state is a bitmask: 'in' tests for any of the bits ('==' with a list would demand all of them).
export const ctEstablished: NftExpr = match({ ct: { key: 'state' } }, ['established', 'related'], 'in');
export const ctInvalid: NftExpr = match({ ct: { key: 'state' } }, ['invalid'], 'in');

/** Elements already built, by CIDR text (bounded like the leaf expressions' map: cleared when full). */
const elems = new Map<string, unknown>();
const ELEMS_MAX = 16_384;

/** A canonical CIDR as an nft set element: a bare address for a host route, else a prefix (shared, never edited). */
export function prefixElem(cidr: string): unknown {
  let e = elems.get(cidr);
  if (e === undefined) {
    const slash = cidr.indexOf('/');
    const addr = slash < 0 ? cidr : cidr.slice(0, slash);
    const len = slash < 0 ? NaN : Number(cidr.slice(slash + 1));
    const full = cidr.includes(':') ? 128 : 32;
    e = len === full ? addr : { prefix: { addr, len } };
    if (elems.size >= ELEMS_MAX) elems.clear();
    elems.set(cidr, e);
  }
  return e;
}

/** An anonymous set, or the bare value when there is one element (nft needs no set then). */
export function anon(elems: readonly unknown[]): unknown {
  return elems.length === 1 ? elems[0] : { set: elems };
}

/** `left == value`, `left != value`; the value may be a bare element or an anonymous set. */
export const elemMatch = (left: NftExpr, value: unknown, op: '==' | '!=' = '=='): NftExpr => match(left, value, op);

export const netsMatch = (family: Family, side: 'saddr' | 'daddr', cidrs: readonly string[], op: '==' | '!=' = '=='): NftExpr =>
  match(addrOf(family, side), anon(cidrs.map(prefixElem)), op);

export const setMatch = (left: NftExpr, set: string, op: '==' | '!=' = '=='): NftExpr => match(left, `@${set}`, op);

/**
 * Port ranges as set elements, sorted and merged where they overlap or touch: the same ports,
 * as disjoint elements (an interval set rejects overlap, and rule.ts's expansion into separate
 * rules relies on a packet matching at most one of them).
 */
export function portElems(ranges: readonly PortRange[]): unknown[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged.map(([a, b]) => (a === b ? a : { range: [a, b] }));
}

export const portsMatch = (side: 'sport' | 'dport', ranges: readonly PortRange[], op: '==' | '!=' = '=='): NftExpr =>
  match(portOf(side), anon(portElems(ranges)), op);

/** `ip daddr . meta l4proto . th dport`: the key of a named-port set. */
export const namedPortKey = (family: Family, side: 'src' | 'dst'): NftExpr => ({
  concat: [addrOf(family, side === 'src' ? 'saddr' : 'daddr'), meta('l4proto'), portOf(side === 'src' ? 'sport' : 'dport')],
});

/**
 * `icmp type T` and, with a code, a separate `icmp code C`: nft 1.0.6 (Debian 12) rejects the
 * concatenation `icmp type . icmp code` against a single value. Both are positive or both '!='
 * as asked; a negated pair is NOT `!(type && code)`, so rule.ts splits notICMP with a code.
 */
export function icmpMatch(proto: 'icmp' | 'icmpv6', m: { type: number; code?: number | undefined }, op: '==' | '!='): NftExpr[] {
  const out = [icmpField(proto, 'type', m.type, op)];
  if (m.code !== undefined) out.push(icmpField(proto, 'code', m.code, op));
  return out;
}

export const icmpField = (proto: 'icmp' | 'icmpv6', field: 'type' | 'code', value: number, op: '==' | '!='): NftExpr =>
  match(payload(proto, field), value, op);

export const markHas = (bit: number): NftExpr => match({ '&': [meta('mark'), bit] }, bit);
export const markLacks = (bit: number): NftExpr => match({ '&': [meta('mark'), bit] }, 0);
export const setMark = (bit: number): NftExpr => once(`m${bit}`, () => ({ mangle: { key: meta('mark'), value: { '|': [meta('mark'), bit] } } }));
export const clearMark = (bits: number): NftExpr => ({ mangle: { key: meta('mark'), value: { '&': [meta('mark'), (~bits) >>> 0] } } });

export const counter: NftExpr = { counter: null };
export const accept: NftExpr = { accept: null };
export const drop: NftExpr = { drop: null };
export const ret: NftExpr = { return: null };
export const notrack: NftExpr = { notrack: null };
export const jump = (target: string): NftExpr => ({ jump: { target } });
export const goto = (target: string): NftExpr => ({ goto: { target } });
export const log = (prefix: string): NftExpr => ({ log: { prefix: logPrefix(prefix) } });
