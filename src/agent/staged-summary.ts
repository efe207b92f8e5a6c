/**
 * The staged policies' would-be verdicts for the retained MQTT status: per staged policy, the
 * packets it would have allowed and denied (both directions added up), read from the kernel's
 * counters at most once a minute, and only while the plan in force has staged policies (a
 * listing costs about what an apply does). `onChange` is called only when the numbers changed,
 * so an idle host does not republish its status every minute.
 */
import { listCounters } from '../nft/counter-listing.ts';
import type { Logger } from '../platform/logger.ts';
import { MAX_STATUS_STAGED, type StagedSummary } from '../protocol/status.ts';
import { stagedCounts, type StagedCount } from '../nft/staged-counters.ts';

const STAGED_REFRESH_MS = 60_000;

/** Per policy, both directions added up, sorted by name, capped. */
export function summariseStaged(counts: readonly StagedCount[]): StagedSummary[] {
  const by = new Map<string, StagedSummary>();
  for (const c of counts) {
    const name = c.key ?? c.policy;
    const s = by.get(name) ?? { policy: name, wouldAllow: 0, wouldDeny: 0 };
    by.set(name, { policy: name, wouldAllow: s.wouldAllow + c.wouldAllow.packets, wouldDeny: s.wouldDeny + c.wouldDeny.packets });
  }
  return [...by.values()].sort((a, b) => (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : 0)).slice(0, MAX_STATUS_STAGED);
}

export interface StagedWatch {
  /** The staged policies of the plan now in force (none: the watch idles). */
  setPlan(staged: readonly { readonly key: string; readonly name: string }[] | undefined): void;
  stop(): void;
}

export function watchStaged(o: { nft: string; log: Pick<Logger, 'debug'>; onChange: (s: StagedSummary[] | undefined) => void; everyMs?: number }): StagedWatch {
  let staged: readonly { readonly key: string; readonly name: string }[] = [];
  let last = '';
  let busy = false;
  const read = async () => {
    if (busy || staged.length === 0) return;
    busy = true;
    try {
      const r = await listCounters(o.nft);
      if (r.state !== 'present') return void o.log.debug({ err: r.state === 'missing' ? 'no outpost table' : r.reason }, 'staged counters not read');
      const summary = summariseStaged(stagedCounts(r.listing, { staged }));
      const key = JSON.stringify(summary);
      if (key === last) return;
      last = key;
      o.onChange(summary);
    } catch (e) {
      o.log.debug({ err: (e as Error).message }, 'staged counters not read');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void read(), o.everyMs ?? STAGED_REFRESH_MS);
  timer.unref?.();
  return {
    setPlan(next) {
      const had = staged.length > 0;
      staged = next ?? [];
      if (had && staged.length === 0 && last !== '') {
        last = '';
        o.onChange(undefined);
      }
    },
    stop: () => clearInterval(timer),
  };
}
