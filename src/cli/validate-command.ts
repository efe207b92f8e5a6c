/**
 * `outpost validate -f FILE|DIR ...`: report every problem, exit 1 if there is any. Warnings
 * (Calico kinds skipped, FelixConfiguration fields and HTTP matches without effect, missing
 * profiles or tiers) are printed too but do not fail the check. The output is bounded: at most
 * MAX_PROBLEM_LINES_PER_FILE lines per file (each resource already lists at most
 * MAX_ERRORS_PER_RESOURCE problems, and values are echoed shortened), the rest counted.
 */
import { parseArgs } from 'node:util';
import { formatResourceError, type ResourceError } from '../model/validate.ts';
import { MAX_PROBLEM_LINES_PER_FILE } from '../model/limits.ts';
import { computeNodePlan, preparePlanContext } from '../calc/node-plan.ts';
import type { Resource } from '../model/resource.ts';
import type { CliIO } from './io.ts';
import { UsageError } from './io.ts';
import { loadResourcesOnce } from './load-resources.ts';

/** Prints each item, at most MAX_PROBLEM_LINES_PER_FILE per source file; the rest are counted. */
function printBounded(io: CliIO, items: readonly ResourceError[], prefix: string, what: string): void {
  const shown = new Map<string, number>();
  const hidden = new Map<string, number>();
  for (const e of items) {
    const src = e.source ?? '';
    const n = shown.get(src) ?? 0;
    if (n < MAX_PROBLEM_LINES_PER_FILE) {
      io.err(`${prefix}${formatResourceError(e)}`);
      shown.set(src, n + 1);
    } else hidden.set(src, (hidden.get(src) ?? 0) + 1);
  }
  for (const [src, n] of hidden) {
    io.err(`${prefix}${src === '' ? '' : `${src}: `}… and ${n} more ${what} (only the first ${MAX_PROBLEM_LINES_PER_FILE} are printed)`);
  }
}

function nodeWarnings(resources: Resource[], io: CliIO): void {
  // Cross-resource problems (missing profile, missing tier) are warnings, reported per node.
  const nodes = new Set(resources.flatMap((r) => (r.kind === 'HostEndpoint' && r.spec.node ? [r.spec.node] : [])));
  // One shared context: selectors and set members are computed once, not once per node.
  const shared = preparePlanContext(resources);
  for (const node of [...nodes].sort()) {
    for (const w of computeNodePlan({ node, resources }, shared).warnings) io.err(`warning: node ${node}: ${w}`);
  }
}

export async function validateCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args, options: { filename: { type: 'string', short: 'f', multiple: true } } });
  const paths = values.filename ?? [];
  if (paths.length === 0) throw new UsageError('validate needs -f FILE|DIR|- (outpost validate --help)');
  const { resources, errors, warnings, fatal } = await loadResourcesOnce(paths);
  if (fatal) {
    io.err(fatal);
    return 1;
  }
  printBounded(io, errors, '', 'problem(s)');
  printBounded(io, warnings, 'warning: ', 'warning(s)');
  let internal = 0;
  try {
    nodeWarnings(resources, io);
  } catch (e) {
    // Last resort: the summary and the exit code must still come out.
    io.err(`internal error while computing the node plans: ${(e as Error)?.message ?? String(e)}`);
    internal = 1;
  }
  const problems = errors.length + internal;
  const warned = warnings.length ? `, ${warnings.length} warning(s)` : '';
  io.out(`${resources.length} valid resource(s), ${problems} problem(s)${warned}`);
  return problems ? 1 : 0;
}
