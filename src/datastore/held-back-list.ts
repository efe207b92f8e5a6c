/**
 * Bookkeeping for resources held back as invalid (protocol/held-back.ts): each datastore source
 * keeps the current set, and says so only when the set changed (not on every poll or re-list).
 */
import type { HeldBackItem } from '../protocol/held-back.ts';
import type { ResourceError } from '../model/validate.ts';

const MAX_REASON = 1000;

/** One line per problem ("spec.ingress[0].action: must be ..."), capped for the retained message. */
export function heldBackReason(errors: readonly ResourceError[]): string {
  const text = errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
  return text.length <= MAX_REASON ? text : `${text.slice(0, MAX_REASON - 1)}…`;
}

/** The errors grouped per resource they name (kind and name); errors naming none are left out. */
export function errorsByResource(errors: readonly ResourceError[]): Map<string, { kind: string; name: string; errors: ResourceError[] }> {
  const out = new Map<string, { kind: string; name: string; errors: ResourceError[] }>();
  for (const e of errors) {
    if (e.kind === undefined || e.name === undefined) continue;
    const k = `${e.kind}/${e.name}`;
    const g = out.get(k) ?? { kind: e.kind, name: e.name, errors: [] };
    g.errors.push(e);
    out.set(k, g);
  }
  return out;
}

/** Sorted by source, kind and name, so equal sets compare equal. */
export function sortHeldBack(items: Iterable<HeldBackItem>): HeldBackItem[] {
  const key = (i: HeldBackItem) => `${i.source}\0${i.kind}\0${i.name}`;
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function sameHeldBack(a: readonly HeldBackItem[], b: readonly HeldBackItem[]): boolean {
  return a.length === b.length && a.every((x, i) => {
    const y = b[i]!;
    return x.kind === y.kind && x.name === y.name && x.source === y.source && x.reason === y.reason && x.lastValidInForce === y.lastValidInForce;
  });
}

/** Calls `deliver` with the current list only when it differs from the last one delivered. */
export class HeldBackChanges {
  private last: HeldBackItem[] | undefined;

  constructor(private readonly deliver: (items: readonly HeldBackItem[]) => void) {}

  offer(items: readonly HeldBackItem[]): void {
    const sorted = sortHeldBack(items);
    if (this.last !== undefined && sameHeldBack(this.last, sorted)) return;
    this.last = sorted;
    this.deliver(sorted);
  }
}
