/**
 * Encoding and signing a node's snapshot. Each changed node's plan is serialised once (the
 * compiled policies and sets that plans share, once per object: SharedTextMemo) and signed;
 * nothing else in the relay serialises plans (change detection compares them structurally).
 * There is no second schema check: these plans come from the same code agents run.
 */
import type { KeyObject } from 'node:crypto';
import type { NodePlan } from '../plan/schema.ts';
import { canonicalPlan, encodeSnapshot } from '../protocol/snapshot.ts';
import { SharedTextMemo } from './shared-text-memo.ts';

export interface Signed {
  readonly payload: Uint8Array;
  readonly hash: string;
}

export class SnapshotSigner {
  private readonly memo = new SharedTextMemo();

  constructor(private readonly key: KeyObject) {}

  /** Throws when the snapshot is refused (over the size agents accept, or a plan the schema refuses). */
  sign(node: string, revision: string, plan: NodePlan, issuedAt: number): Signed {
    const canonical = canonicalPlan(plan, this.memo);
    return { payload: encodeSnapshot({ node, revision, plan, issuedAt, canonical }, this.key, { checkPlan: false }), hash: canonical.hash };
  }
}
