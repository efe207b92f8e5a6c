/**
 * The stamp: one element of the set `stamp` in our table whose comment is a digest of the whole
 * desired table. Every transaction the table writer sends ends by writing it, so
 *
 * - after a commit, `nft -j list set inet outpost stamp` (a few ms whatever the table's size:
 *   nft 1.0.6 fetches only that set) proves the kernel holds the table this transaction left,
 *   instead of listing the whole table (0.7 s at 12,000 rules);
 * - drift-watch.ts tells our own transactions from anyone else's by the stamp line in the
 *   `nft monitor` output.
 *
 * The digest is computed from per-set and per-chain digests, remembered per members/rules array,
 * so a one-member change hashes that set's members once and nothing else.
 */
import { createHash } from 'node:crypto';
import type { NftCommand } from './json-types.ts';
import type { DesiredTable, TableRule } from '../render/table-model.ts';
import { TABLE } from '../render/naming.ts';
import { rulesKey } from './table-delta.ts';

export const STAMP_SET = 'stamp';
const STAMP_VALUE = '0.0.0.0';
const family = 'inet' as const;

const digests = new WeakMap<object, string>();
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function membersDigest(m: readonly string[]): string {
  let d = digests.get(m);
  if (d === undefined) {
    d = sha(m.join('\n'));
    digests.set(m, d);
  }
  return d;
}

function rulesDigest(r: readonly TableRule[]): string {
  let d = digests.get(r);
  if (d === undefined) {
    d = sha(rulesKey(r));
    digests.set(r, d);
  }
  return d;
}

/** Lets an equal array (found equal by the delta) reuse the digest of the one in force. */
export function carryDigest(from: object, to: object): void {
  const d = digests.get(from);
  if (d !== undefined && !digests.has(to)) digests.set(to, d);
}

/** The table's digest (hex, 64 characters). */
export function tableStamp(t: DesiredTable): string {
  const h = createHash('sha256');
  for (const s of t.sets) h.update(`set ${s.name} ${s.kind} ${s.family} ${membersDigest(s.members)}\n`);
  for (const c of t.chains) h.update(`chain ${c.name} ${c.base ? `${c.base.hook} ${c.base.prio}` : '-'} ${rulesDigest(c.rules)}\n`);
  return h.digest('hex');
}

const stampElem = (stamp: string) => [{ elem: { val: STAMP_VALUE, comment: stamp } }];

/** In a full re-create: the stamp set with its element. */
export function createStamp(stamp: string): NftCommand {
  return { add: { set: { family, table: TABLE, name: STAMP_SET, type: 'ipv4_addr', elem: stampElem(stamp) } } };
}

/** At the end of a delta: the old stamp out, the new one in. */
export function replaceStamp(stamp: string): NftCommand[] {
  return [{ flush: { set: { family, table: TABLE, name: STAMP_SET } } }, { add: { element: { family, table: TABLE, name: STAMP_SET, elem: stampElem(stamp) } } }];
}

/** The stamp in a `nft -j list set inet outpost stamp` listing, or undefined. */
export function stampOf(listing: unknown): string | undefined {
  const items = (listing as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(items)) return undefined;
  for (const item of items) {
    const set = (item as { set?: { name?: unknown; elem?: unknown } } | null)?.set;
    if (set?.name !== STAMP_SET || !Array.isArray(set.elem) || set.elem.length !== 1) continue;
    const c = (set.elem[0] as { elem?: { comment?: unknown } } | null)?.elem?.comment;
    return typeof c === 'string' ? c : undefined;
  }
  return undefined;
}

/** The `nft monitor` line our own transaction prints for this stamp. */
export function stampMonitorLine(stamp: string): string {
  return `add element inet ${TABLE} ${STAMP_SET} { ${STAMP_VALUE} comment "${stamp}" }`;
}
