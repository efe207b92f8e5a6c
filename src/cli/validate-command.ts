/**
 * `outpost validate -f FILE|DIR ...`: report every problem, exit 1 if there is any. Warnings
 * (Calico kinds skipped, FelixConfiguration fields and HTTP matches without effect, missing
 * profiles or tiers) are printed too but do not fail the check.
 */
import { parseArgs } from 'node:util';
import { formatResourceError } from '../model/validate.ts';
import { computeNodePlan, preparePlanContext } from '../calc/node-plan.ts';
import type { CliIO } from './io.ts';
import { UsageError } from './io.ts';
import { loadResourcesOnce } from './load-resources.ts';

export async function validateCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args, options: { filename: { type: 'string', short: 'f', multiple: true } } });
  const paths = values.filename ?? [];
  if (paths.length === 0) throw new UsageError('validate needs -f FILE|DIR');
  const { resources, errors, warnings, fatal } = await loadResourcesOnce(paths);
  if (fatal) {
    io.err(fatal);
    return 1;
  }
  for (const e of errors) io.err(formatResourceError(e));
  for (const w of warnings) io.err(`warning: ${formatResourceError(w)}`);
  // Cross-resource problems (missing profile, missing tier) are warnings, reported per node.
  const nodes = new Set(resources.flatMap((r) => (r.kind === 'HostEndpoint' && r.spec.node ? [r.spec.node] : [])));
  // One shared context: selectors and set members are computed once, not once per node.
  const shared = preparePlanContext(resources);
  for (const node of [...nodes].sort()) {
    for (const w of computeNodePlan({ node, resources }, shared).warnings) io.err(`warning: node ${node}: ${w}`);
  }
  const warned = warnings.length ? `, ${warnings.length} warning(s)` : '';
  io.out(`${resources.length} valid resource(s), ${errors.length} problem(s)${warned}`);
  return errors.length ? 1 : 0;
}
