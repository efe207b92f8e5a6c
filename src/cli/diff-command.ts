/**
 * `outpost diff -f change.yaml (--resources DIR | --etcd URL)`: what a change would do to each
 * node's plan before it is applied. The change is applied in memory only: resources in the file
 * are created or replace the one of the same kind and name; `--delete KIND/NAME` removes one.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { parseManifest } from '../model/manifest.ts';
import { formatResourceError } from '../model/validate.ts';
import { resourceKey, type Resource } from '../model/resource.ts';
import { datastoreResources, DATASTORE_FLAGS, DATASTORE_HELP } from '../explain/datastore-args.ts';
import { nodesOf, plansFor } from '../explain/plan-source.ts';
import { diffPlans, type NodeDiff } from '../explain/plan-diff.ts';
import { UsageError, type CliIO } from './io.ts';
import type { CommandHelp } from './help.ts';

export const diffHelp: CommandHelp = {
  usage: 'outpost diff [-f change.yaml] [--delete KIND/NAME ...] (--resources DIR | --etcd URL) [-o json]',
  summary: 'Show, per node, which policies, rules and set members a change would change (nothing is written).',
  description:
    'The change is applied in memory: each resource in the file is created, or replaces the resource of the same kind and name; --delete removes one (namespaced kinds: KIND/NAMESPACE/NAME). ' +
    'Every node\'s plan is computed before and after, as the relay computes it; nodes whose plan does not change are not listed. Exit 0 when the diff was computed, 2 for a bad change.',
  flags: [
    { flag: '-f, --file FILE', help: 'resources to create or replace (YAML, - for stdin)' },
    { flag: '--delete KIND/NAME', help: 'a resource to delete (repeatable), e.g. GlobalNetworkPolicy/allow-web' },
    ...DATASTORE_HELP,
    { flag: '-o, --output text|json', help: 'output format (default text)' },
  ],
  examples: [
    'outpost diff -f allow-db.yaml --etcd http://127.0.0.1:2379',
    'outpost diff --delete GlobalNetworkPolicy/allow-web --resources /etc/outpost/policy -o json',
  ],
};

function readChange(file: string | undefined): { resources: Resource[]; source: string } {
  if (file === undefined) return { resources: [], source: '' };
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const source = file === '-' ? 'stdin' : file;
  const r = parseManifest(text, source);
  if (r.errors.length) throw new UsageError(`${source} is not a valid change; nothing was computed:\n  ${r.errors.map(formatResourceError).join('\n  ')}`);
  if (!r.resources.length) throw new UsageError(`${source} holds no resource`);
  return { resources: r.resources, source };
}

export async function diffCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { file: { type: 'string', short: 'f' }, delete: { type: 'string', multiple: true }, output: { type: 'string', short: 'o' }, ...DATASTORE_FLAGS }, allowPositionals: true });
  if (positionals.length) throw new UsageError(`diff takes no arguments (got ${positionals.join(' ')}); give the change with -f or --delete`);
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`-o ${output}: use text or json`);
  const deletes = values.delete ?? [];
  if (values.file === undefined && !deletes.length) throw new UsageError('give the change: -f FILE (create or replace) and/or --delete KIND/NAME');
  const change = readChange(values.file);
  const { resources: before, source } = await datastoreResources(values, io);

  const after = new Map(before.map((r) => [resourceKey(r), r]));
  for (const d of deletes) {
    // Kinds are case-insensitive on the command line (calicoctl's habit), names are not; a
    // namespaced kind without a namespace means "default".
    const slash = d.indexOf('/');
    const kind = d.slice(0, Math.max(slash, 0)).toLowerCase();
    const rest = d.slice(slash);
    const match = (k: string, r: string) => k.slice(0, k.indexOf('/')).toLowerCase() === kind && k.slice(k.indexOf('/')) === r;
    const key = slash > 0 ? [...after.keys()].find((k) => match(k, rest)) ?? [...after.keys()].find((k) => match(k, `/default${rest}`)) : undefined;
    if (key === undefined) throw new UsageError(`--delete ${d}: no such resource in ${source} (use KIND/NAME, e.g. GlobalNetworkPolicy/allow-web)`);
    after.delete(key);
  }
  for (const r of change.resources) after.set(resourceKey(r), r);

  const afterList = [...after.values()];
  const nodes = [...new Set([...nodesOf(before), ...nodesOf(afterList)])].sort();
  const a = plansFor(before, nodesOf(before));
  const b = plansFor(afterList, nodesOf(afterList));
  const diffs = nodes.map((n) => diffPlans(n, a.get(n), b.get(n))).filter((d): d is NodeDiff => d !== undefined);

  if (output === 'json') {
    io.out(JSON.stringify({ source, nodes: diffs }, null, 2));
    return 0;
  }
  if (!diffs.length) {
    io.out(`no node's plan changes (${nodes.length} node(s) in ${source})`);
    return 0;
  }
  const lines: string[] = [];
  for (const d of diffs) {
    lines.push(`node ${d.node}:`);
    for (const c of d.changes) lines.push(`  ${c}`);
    for (const s of d.sets) {
      lines.push(`  set ${s.id} (${s.selector}): ${[...s.added.map((m) => `+${m}`), ...s.removed.map((m) => `-${m}`)].join(' ')}`);
    }
  }
  lines.push(`${diffs.length} of ${nodes.length} node(s) change (${source})`);
  io.out(lines.join('\n'));
  return 0;
}
