/**
 * The subset of libnftables' JSON schema (nft -j) that outpost writes and reads back.
 * Output-only shapes, so plain types: what we read back is checked structurally in verify.ts.
 */
export type NftFamily = 'inet';

/** An expression or statement; nft's JSON is a tagged union keyed by a single property. */
export type NftExpr = { readonly [key: string]: unknown };

export interface NftTable { family: NftFamily; name: string }
export interface NftChain {
  family: NftFamily; table: string; name: string;
  type?: 'filter'; hook?: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting'; prio?: number; policy?: 'accept';
}
export interface NftSet {
  family: NftFamily; table: string; name: string;
  type?: string | string[]; flags?: string[]; elem?: unknown[];
}
export interface NftRule { family: NftFamily; table: string; chain: string; expr: NftExpr[]; comment?: string }

/** Elements of a named set (add/delete); an element is a value, or `{ elem: { val, comment } }`. */
export interface NftElement { family: NftFamily; table: string; name: string; elem: unknown[] }

export type NftObject = { table: NftTable } | { chain: NftChain } | { set: NftSet } | { rule: NftRule } | { element: NftElement };
export type NftCommand = { add: NftObject } | { delete: NftObject } | { flush: NftObject };

export interface NftDocument { nftables: NftCommand[] }
