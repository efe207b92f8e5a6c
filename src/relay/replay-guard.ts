/**
 * What the relay does about a node's topic holding something it did not publish: a replayed
 * older snapshot, a forgery, a clear, or nothing at all (cleared, or lost by the broker). The
 * node's current snapshot goes out again after a short pause, once however many times it was
 * flagged meanwhile (a flood costs one publication), as the bytes already published: their
 * echo is byte-identical, so this cannot loop.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../platform/logger.ts';
import { compareRevisions, decodeSnapshot } from '../protocol/snapshot.ts';

export interface Mine {
  readonly payload: Uint8Array;
  readonly revision: string;
  readonly issuedAt: number;
}

/** `payload` is ours, or another relay's signature (our key) of the same or a newer state, issued no earlier. */
export function acceptable(node: string, payload: Uint8Array, mine: Mine, publicKey: KeyObject): boolean {
  if (Buffer.from(payload).equals(mine.payload)) return true;
  if (payload.length === 0) return false;
  const d = decodeSnapshot(payload, { publicKey, node });
  if (!d.ok || d.snapshot.issuedAt === undefined) return false;
  return compareRevisions(d.snapshot.revision, mine.revision) >= 0 && d.snapshot.issuedAt >= mine.issuedAt;
}

export class ReplayGuard {
  private readonly pending = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly republish: (nodes: readonly string[]) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Something this relay did not publish arrived on the node's topic. */
  foreign(node: string, bytes: number): void {
    if (!this.pending.has(node)) this.log.warn({ node, bytes }, 'a snapshot this relay did not publish is on the node\'s topic (a replay, a forgery or a clear); publishing the current one again');
    this.flag([node]);
  }

  /** An audit found no retained snapshot for these nodes. */
  missing(nodes: readonly string[]): void {
    if (nodes.length === 0) return;
    this.log.warn({ nodes: nodes.length > 20 ? nodes.length : nodes }, 'the broker holds no snapshot for these nodes (cleared, or lost); publishing the current ones again');
    this.flag(nodes);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private flag(nodes: readonly string[]): void {
    for (const n of nodes) this.pending.add(n);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const due = [...this.pending];
      this.pending.clear();
      void this.republish(due).catch((e: Error) => this.log.error({ err: e.message }, 'republishing failed'));
    }, 50);
  }
}
