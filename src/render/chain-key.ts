/**
 * A chain's rules as one short comparable key: a SHA-256 over each rule's expression JSON and
 * comment, remembered per rules array (WeakMap). The table writer compares chains by it
 * (nft/table-delta.ts) and the stamp digests it (nft/stamp.ts).
 *
 * A digest rather than the rules' JSON itself: the table in force keeps a key for each of its
 * chains for its whole life, and at 25,000 rules the JSON would be 11 MiB held for nothing but
 * comparing. The full re-create's serialiser (table-model.ts fullDocumentJson) feeds the same
 * hasher the expression JSON it writes anyway, so a first apply stringifies every rule once.
 */
import type { TableRule } from './table-model.ts';

const keys = new WeakMap<readonly TableRule[], string>();
const PENDING_MAX = 128;

/** Hashes one chain's rules in order; each rule's expression JSON as the caller already has it. */
export class ChainKeyHasher {
  private readonly h = new Bun.CryptoHasher('sha256');
  /** Text not hashed yet: one update per PENDING_MAX pieces, not two per rule (each call costs more than hashing a rule's bytes). */
  private pending: string[] = [];

  add(exprJson: string, comment: string | undefined): void {
    // JSON text holds no raw newline: the separators keep the encoding unambiguous.
    this.pending.push(exprJson, comment === undefined ? '\n\n' : `\n${JSON.stringify(comment)}\n`);
    if (this.pending.length >= PENDING_MAX) this.flush();
  }

  private flush(): void {
    if (this.pending.length) this.h.update(this.pending.join(''));
    this.pending = [];
  }

  /** The key, remembered for `rules` (the array whose rules were added, in order). */
  done(rules: readonly TableRule[]): string {
    this.flush();
    const k = this.h.digest('hex');
    keys.set(rules, k);
    return k;
  }
}

export const hasRulesKey = (rules: readonly TableRule[]): boolean => keys.has(rules);

/** The chain key of `rules`, computed once per rules array. */
export function rulesKey(rules: readonly TableRule[]): string {
  const k = keys.get(rules);
  if (k !== undefined) return k;
  const h = new ChainKeyHasher();
  for (const r of rules) h.add(JSON.stringify(r.expr), r.comment);
  return h.done(rules);
}
