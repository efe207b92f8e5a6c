/**
 * The desired `inet outpost` table as data: sets with their members, chains with their rules in
 * order. The renderer builds one (ruleset.ts); from it come both the full re-create document
 * (fullDocument, below) and the smallest change from the table in force (nft/table-delta.ts).
 *
 * Set members are canonical strings, sorted and unique, so two versions of a set compare with a
 * plain array walk, no re-parsing:
 *   host     hash set of single addresses      "198.18.0.1/32", "fd00::1/128" (written without the length)
 *   prefix   interval set of wider prefixes    "198.18.0.0/16"
 *   port     named-port set (addr . proto . port, no intervals)   "198.18.0.1 6 443"
 */
import type { NftCommand, NftDocument, NftExpr } from '../nft/json-types.ts';
import { comment, TABLE } from './naming.ts';
import { ChainKeyHasher, hasRulesKey } from './chain-key.ts';

export type SetKind = 'host' | 'prefix' | 'port';

export interface TableSet {
  readonly name: string;
  readonly kind: SetKind;
  readonly family: 4 | 6;
  /** Sorted (string order), unique, canonical. */
  readonly members: readonly string[];
}

export interface TableRule {
  readonly expr: readonly NftExpr[];
  readonly comment?: string;
}

export interface BaseHook {
  readonly hook: 'prerouting' | 'input' | 'forward' | 'output';
  readonly prio: number;
}

export interface TableChain {
  readonly name: string;
  readonly base?: BaseHook;
  readonly rules: readonly TableRule[];
}

export interface DesiredTable {
  /** In document order: selector sets (host, prefix per family), then named-port sets. */
  readonly sets: readonly TableSet[];
  /** In document order: base chains, then the regular chains by name. */
  readonly chains: readonly TableChain[];
}

const family = 'inet' as const;

function setType(s: Pick<TableSet, 'kind' | 'family'>): string | string[] {
  const addr = s.family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  return s.kind === 'port' ? [addr, 'inet_proto', 'inet_service'] : addr;
}

/** The nft JSON element for one member (see the member forms above). */
export function elementOf(kind: SetKind, member: string): unknown {
  if (kind === 'host') return member.slice(0, member.lastIndexOf('/'));
  if (kind === 'prefix') {
    const slash = member.indexOf('/');
    return { prefix: { addr: member.slice(0, slash), len: Number(member.slice(slash + 1)) } };
  }
  const [ip, proto, port] = member.split(' ');
  return { concat: [ip, Number(proto), Number(port)] };
}

/** The named-port member key for an (addr, proto, port) triple. */
export const portMember = (ip: string, proto: number, port: number): string => `${ip} ${proto} ${port}`;

export function addSet(s: TableSet, members: readonly string[] = s.members): NftCommand {
  const elem = members.map((m) => elementOf(s.kind, m));
  return { add: { set: { family, table: TABLE, name: s.name, type: setType(s), ...(s.kind === 'prefix' ? { flags: ['interval'] } : {}), ...(elem.length ? { elem } : {}) } } };
}

export function addChain(c: TableChain): NftCommand {
  return c.base
    ? { add: { chain: { family, table: TABLE, name: c.name, type: 'filter', hook: c.base.hook, prio: c.base.prio, policy: 'accept' } } }
    : { add: { chain: { family, table: TABLE, name: c.name } } };
}

export function addRule(chain: string, r: TableRule): NftCommand {
  return { add: { rule: { family, table: TABLE, chain, expr: r.expr as NftExpr[], ...(r.comment ? { comment: comment(r.comment) } : {}) } } };
}

/** Commands that go after everything else: given, or computed once the rest is written. */
export type ExtraCommands = readonly NftCommand[] | (() => readonly NftCommand[]);

/**
 * The whole table in one document that re-creates it in a single transaction (add table;
 * delete table; add table; sets; chains; rules), so nft commits all of it or none of it.
 * `extra` commands (the writer's stamp) go last: a transaction commits as a whole, so where
 * they stand in it does not matter, and last lets the serialiser compute the stamp from the
 * chain keys it found while writing the rules.
 */
export function fullDocument(t: DesiredTable, extra: ExtraCommands = []): NftDocument {
  const tableRef = { family, name: TABLE };
  const commands: NftCommand[] = [{ add: { table: tableRef } }, { delete: { table: tableRef } }, { add: { table: tableRef } }];
  for (const s of t.sets) commands.push(addSet(s));
  for (const c of t.chains) commands.push(addChain(c));
  for (const c of t.chains) for (const r of c.rules) commands.push(addRule(c.name, r));
  commands.push(...(typeof extra === 'function' ? extra() : extra));
  return { nftables: commands };
}

/**
 * fullDocument as JSON text, in pieces whose concatenation is exactly
 * `JSON.stringify(fullDocument(t, extra))`, without building that document: at 25,000 rules the
 * document is about 25 MiB of objects and its text 11 MiB, and the runner writes these pieces
 * straight to nft's input (runner.ts), so neither is ever whole in memory. Rules, the bulk, are
 * written by hand around JSON.stringify of their expressions, and a chain without a key yet
 * (chain-key.ts) gets it from the same expression text, so every rule is stringified once.
 */
export function* fullDocumentJson(t: DesiredTable, extra: ExtraCommands = []): Generator<string> {
  const tableRef = { family, name: TABLE };
  yield '{"nftables":[';
  yield [{ add: { table: tableRef } }, { delete: { table: tableRef } }, { add: { table: tableRef } }].map((c) => JSON.stringify(c)).join(',');
  for (const s of t.sets) yield `,${JSON.stringify(addSet(s))}`;
  for (const c of t.chains) yield `,${JSON.stringify(addChain(c))}`;
  const head = `,{"add":{"rule":{"family":${JSON.stringify(family)},"table":${JSON.stringify(TABLE)},"chain":`;
  for (const c of t.chains) {
    const key = hasRulesKey(c.rules) ? undefined : new ChainKeyHasher();
    const prefix = `${head}${JSON.stringify(c.name)},"expr":`;
    for (const r of c.rules) {
      const expr = JSON.stringify(r.expr);
      key?.add(expr, r.comment);
      yield prefix;
      yield expr;
      yield r.comment ? `,"comment":${JSON.stringify(comment(r.comment))}}}}` : '}}}';
    }
    key?.done(c.rules);
  }
  for (const c of typeof extra === 'function' ? extra() : extra) yield `,${JSON.stringify(c)}`;
  yield ']}';
}

/** Chain name → rule count and the set names, for the structural read-back (nft/verify.ts). */
export function expectedShape(t: DesiredTable): { chains: Map<string, number>; sets: string[]; setSizes: Map<string, number> } {
  return {
    chains: new Map(t.chains.map((c) => [c.name, c.rules.length])),
    sets: t.sets.map((s) => s.name),
    setSizes: new Map(t.sets.map((s) => [s.name, s.members.length])),
  };
}

/** The same table with rules appended to existing chains (host-local additions such as the control path). */
export function withAppendedRules(t: DesiredTable, extra: ReadonlyMap<string, readonly TableRule[]>): DesiredTable {
  return { sets: t.sets, chains: t.chains.map((c) => (extra.has(c.name) ? { ...c, rules: [...c.rules, ...extra.get(c.name)!] } : c)) };
}
