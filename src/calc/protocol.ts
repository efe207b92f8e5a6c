/**
 * Protocol and port values in their API form (names, numbers, "min:max" strings) turned into
 * the numbers nftables matches on.
 */
import type { PortRange } from '../plan/schema.ts';

export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  TCP: 6, UDP: 17, ICMP: 1, ICMPv6: 58, SCTP: 132, UDPLite: 136,
};

/** The IANA number of a validated protocol value; Felix lower-cases names, so accept either case. */
export function protocolNumber(p: string | number): number {
  if (typeof p === 'number') return p;
  if (/^\d+$/.test(p)) return Number(p);
  const exact = PROTOCOL_NUMBERS[p];
  if (exact !== undefined) return exact;
  const lower = Object.entries(PROTOCOL_NUMBERS).find(([k]) => k.toLowerCase() === p.toLowerCase());
  if (lower) return lower[1];
  throw new Error(`unknown protocol ${p} (validation should have rejected it)`);
}

export type ParsedPort = { kind: 'range'; range: PortRange } | { kind: 'named'; name: string };

export function parsePort(p: string | number): ParsedPort {
  if (typeof p === 'number') return { kind: 'range', range: [p, p] };
  const m = /^(\d+)(?::(\d+))?$/.exec(p);
  if (m) {
    const min = Number(m[1]);
    return { kind: 'range', range: [min, m[2] === undefined ? min : Number(m[2])] };
  }
  return { kind: 'named', name: p };
}
