/**
 * `outpost selector EXPR --labels JSON`: print "match" / "no match" (exit 0 / 1).
 * `outpost selector EXPR --resources DIR`: list the endpoints and network sets it selects.
 * A parse error prints the position and exits 2.
 */
import { parseArgs } from 'node:util';
import * as v from 'valibot';
import { formatSelectorError, parseSelector } from '../selector/index.ts';
import { buildMembers } from '../calc/members.ts';
import { formatCidr } from '../net/cidr.ts';
import type { Profile } from '../model/profile.ts';
import type { CliIO } from './io.ts';
import { UsageError } from './io.ts';
import { loadResourcesOnce } from './load-resources.ts';

const LabelsSchema = v.record(v.string(), v.string());

export async function selectorCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { labels: { type: 'string' }, resources: { type: 'string', multiple: true } } });
  const expr = positionals[0];
  if (expr === undefined || positionals.length > 1) throw new UsageError("selector needs one EXPR (quote it) and --labels JSON or --resources DIR");
  const parsed = parseSelector(expr);
  if (!parsed.ok) {
    io.err(formatSelectorError(expr, parsed.error, parsed.position));
    return 2;
  }
  if (values.labels !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(values.labels);
    } catch (e) {
      throw new UsageError(`--labels is not JSON: ${(e as Error).message}`);
    }
    const labels = v.safeParse(LabelsSchema, json);
    if (!labels.success) throw new UsageError('--labels must be a JSON object of string values, e.g. {"role":"web"}');
    const m = parsed.selector.evaluate(labels.output);
    io.out(m ? 'match' : 'no match');
    return m ? 0 : 1;
  }
  if (!values.resources?.length) throw new UsageError('selector needs --labels JSON or --resources DIR');
  const { resources, errors, fatal } = await loadResourcesOnce(values.resources);
  if (fatal) {
    io.err(fatal);
    return 1;
  }
  if (errors.length) io.err(`(${errors.length} invalid resource(s) ignored; run outpost validate)`);
  const profiles = new Map(resources.filter((r): r is Profile => r.kind === 'Profile').map((p) => [p.metadata.name, p]));
  const members = buildMembers(
    resources.flatMap((r) => (r.kind === 'HostEndpoint' ? [r] : [])),
    resources.flatMap((r) => (r.kind === 'GlobalNetworkSet' ? [r] : [])),
    profiles,
  );
  let n = 0;
  for (const m of members) {
    if (!parsed.selector.evaluate(m.labels)) continue;
    n++;
    io.out(`${m.key}\t${m.cidrs.map(formatCidr).join(',') || '(no addresses)'}`);
  }
  io.out(`${n} selected`);
  return 0;
}
