/**
 * Freshness: every `intervalMs` each node's current snapshot is signed again with a new issue
 * time (same revision, same hash), so agents can tell a live relay from a replayed retained
 * message (they refuse an old one when they hold nothing, and report stale).
 *
 * Apart from the computation (relay.ts) because it changes nothing but issue times: it never
 * publishes a plan the computation did not, and gives way to one that replaced a node's
 * snapshot while it waited for room in the window.
 */
import type { Logger } from '../platform/logger.ts';
import type { NodePublisher, Published } from './node-publisher.ts';
import type { PublishWindow } from './publish-window.ts';
import type { SnapshotSigner } from './snapshot-signer.ts';

export interface ResignerOptions {
  /** The relay's map of what it published; re-signatures replace entries in it. */
  readonly published: Map<string, Published>;
  readonly signer: SnapshotSigner;
  readonly publisher: NodePublisher;
  readonly window: PublishWindow;
  /** False while nothing may go out (disconnected, or reading the retained snapshots). */
  readonly canRun: () => boolean;
  readonly log: Logger;
  /** 0: never. */
  readonly intervalMs: number;
}

export class Resigner {
  private resigning = false;
  private readonly timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly o: ResignerOptions) {
    this.timer = o.intervalMs > 0 ? setInterval(() => void this.resignAll().catch((e: Error) => o.log.error({ err: e.message }, 're-signing failed')), o.intervalMs) : undefined;
  }

  /** A re-signing fan-out is going out (audits wait for it). */
  get running(): boolean {
    return this.resigning;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Signs each node's current snapshot again with a new issue time (same revision and plan). */
  private async resignAll(): Promise<void> {
    const { published, log } = this.o;
    if (this.resigning || !this.o.canRun()) return;
    this.resigning = true;
    try {
      for (const node of [...published.keys()]) {
        const p = published.get(node);
        if (!p) continue;
        // Never back in time, even if the clock is set back: agents only move issue times forward.
        const issuedAt = Math.max(Date.now(), p.issuedAt + 1);
        let signed: { payload: Uint8Array; hash: string };
        try {
          signed = this.o.signer.sign(node, p.revision, p.plan, issuedAt);
        } catch (e) {
          log.error({ node, err: (e as Error).message }, 'cannot re-sign the snapshot of this node; its agent will report stale');
          continue;
        }
        // A computation may have replaced it while we waited for room in the window: only ours is swapped.
        if (published.get(node) !== p) continue;
        const next: Published = { ...p, ...signed, issuedAt };
        published.set(node, next);
        await this.o.publisher.snapshot(node, next);
      }
      await this.o.window.drain();
      log.debug({ nodes: published.size }, 'snapshots re-signed');
    } finally {
      this.resigning = false;
    }
  }
}
