/**
 * Remembers the table in force (what the last successful transaction left) and turns the next
 * desired table into the smallest atomic transaction (table-delta.ts), always ending with the
 * stamp (stamp.ts). A full re-create is the recovery path: when nothing is known to be in force
 * (start-up, after a failed apply, after drift or a failed proof: forget()), when the delta
 * cannot express the change, or when it would be large anyway.
 *
 * Pure bookkeeping: the enforcer runs nft and tells the writer what was committed.
 */
import type { NftDocument } from './json-types.ts';
import { fullDocument, fullDocumentJson, type DesiredTable } from '../render/table-model.ts';
import { tableDelta, FULL_IF_ABOVE } from './table-delta.ts';
import { carryDigest, createStamp, nextStamp, tableStamp } from './stamp.ts';

export interface Write {
  readonly kind: 'full' | 'delta';
  /** The transaction (for a full re-create, built only when asked for: the enforcer uses `json`). */
  readonly document: NftDocument;
  /** The document's JSON text in pieces (runner.applyJson); may be called more than once. */
  readonly json: () => Iterable<string>;
  readonly stamp: string;
  readonly table: DesiredTable;
  /** The stamp generations in the stamp set once this is committed. */
  readonly generations: readonly number[];
}

/** Old stamp elements are dropped at the latest when there are this many. */
const MAX_STAMPS = 32;
const LAST_GENERATION = 0xfffffff0;

export interface TableWriterOptions {
  /** Above this share of a full re-create's work, re-create instead (default FULL_IF_ABOVE). */
  readonly fullAbove?: number;
}

export class TableWriter {
  private inForce: { readonly table: DesiredTable; readonly stamp: string; readonly generations: readonly number[] } | undefined;
  private readonly fullAbove: number;

  constructor(opts: TableWriterOptions = {}) {
    this.fullAbove = opts.fullAbove ?? FULL_IF_ABOVE;
  }

  /** The stamp of the table in force, if known. */
  get stamp(): string | undefined {
    return this.inForce?.stamp;
  }

  get table(): DesiredTable | undefined {
    return this.inForce?.table;
  }

  /** The transaction that makes `next` the table in force; undefined when it already is. */
  prepare(next: DesiredTable, full = false): Write | undefined {
    const prev = this.inForce;
    const last = prev?.generations.at(-1) ?? LAST_GENERATION;
    if (!full && prev && last < LAST_GENERATION) {
      const delta = tableDelta(prev.table, next, this.fullAbove, carryDigest);
      if (delta !== 'full') {
        if (!delta.commands.length) {
          // Same content: keep the new arrays, so the next diff finds unchanged parts by identity.
          this.inForce = { ...prev, table: next };
          return undefined;
        }
        const stamp = tableStamp(next);
        const deletesAnyway = delta.commands.some((c) => 'delete' in c || 'flush' in c);
        const drop = deletesAnyway || prev.generations.length >= MAX_STAMPS ? prev.generations : [];
        const generations = [...prev.generations.filter((g) => !drop.includes(g)), last + 1];
        const document: NftDocument = { nftables: [...delta.commands, ...nextStamp(last + 1, stamp, drop)] };
        return { kind: 'delta', document, json: () => [JSON.stringify(document)], stamp, table: next, generations };
      }
    }
    // The stamp last, computed once the serialiser has the chain keys (every rule stringified
    // once); asked for earlier, it computes them itself.
    let stamp: string | undefined;
    const stampNow = () => (stamp ??= tableStamp(next));
    const extra = () => [createStamp(stampNow())];
    let document: NftDocument | undefined;
    return {
      kind: 'full',
      get document() {
        return (document ??= fullDocument(next, extra));
      },
      json: () => fullDocumentJson(next, extra),
      get stamp() {
        return stampNow();
      },
      table: next,
      generations: [1],
    };
  }

  /** nft committed `w`: it is the table in force now. */
  committed(w: Write): void {
    this.inForce = { table: w.table, stamp: w.stamp, generations: w.generations };
  }

  /** What is in force is not known any more: the next write re-creates the table. */
  forget(): void {
    this.inForce = undefined;
  }
}
