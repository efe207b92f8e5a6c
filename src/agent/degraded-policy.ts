/**
 * The degraded policy: an operator's folder of manifests that a relay-mode agent computes on the
 * host (as local mode does) and enforces while its relay snapshot is stale, instead of the
 * stale snapshot. It is read when the agent goes stale, so an edit to it takes effect the next
 * time; it is dropped as soon as a fresh snapshot (or a re-signature) arrives.
 *
 * Review notes:
 * - Read with the same strict decoding as local mode; invalid resources are left out and
 *   reported (they have no "last valid" version here: the folder is read once per stale spell).
 * - A folder that cannot be read at all is an Error: the caller keeps the stale snapshot in
 *   force rather than enforcing nothing.
 */
import { FileResourceSource } from '../datastore/file-source.ts';
import { computeNodePlan } from '../calc/node-plan.ts';
import { formatResourceError } from '../model/validate.ts';
import type { NodePlan } from '../plan/schema.ts';

export interface DegradedPlan {
  readonly plan: NodePlan;
  /** Invalid resources left out, plan warnings: each one line for the log. */
  readonly problems: readonly string[];
}

export async function loadDegradedPlan(paths: readonly string[], node: string): Promise<DegradedPlan | Error> {
  try {
    const source = new FileResourceSource(paths);
    const report = await source.load();
    if (report.fatal) return new Error(report.fatal);
    const { plan, warnings } = computeNodePlan({ node, resources: source.current() });
    return { plan, problems: [...report.errors.map(formatResourceError), ...warnings] };
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}
