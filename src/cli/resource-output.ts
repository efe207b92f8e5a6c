/**
 * `outpost get` output in calicoctl's formats: `ps` (default) and `wide` tables written the
 * way Go's tabwriter writes them (minwidth 5, padding 3, every cell tab-terminated, so even
 * the last column is padded; a blank line after each table), `json` as json.MarshalIndent of
 * the Go types, `yaml` as sigs.k8s.io/yaml. One result prints as itself, several as a list;
 * `get KIND` without names prints the `<Kind>List` object. Tables of a namespaced kind get a
 * leading NAMESPACE column when `-n` or `-A` was given, as calicoctl's do.
 */
import type { ResourceKind } from '../model/resource.ts';
import { API_VERSION } from '../model/common.ts';
import { goMarshal, goMarshalIndent } from '../etcd/go-json.ts';
import { KIND_SHAPES, listShape } from '../etcd/calico-structs.ts';
import { goFormatG, toGoYAML } from './resource-yaml.ts';

export type OutputFormat = 'ps' | 'wide' | 'yaml' | 'json';

/** What `get` produced: single objects (by name or from a file), or one listing of a kind. */
export type GetResult =
  | { readonly type: 'objects'; readonly items: readonly { kind: ResourceKind; object: Record<string, unknown> }[] }
  | { readonly type: 'list'; readonly kind: ResourceKind; readonly revision: string; readonly items: readonly Record<string, unknown>[] };

type Obj = Record<string, unknown>;
type Column = readonly [heading: string, value: (o: Obj) => string];

const spec = (o: Obj): Obj => (o['spec'] as Obj | undefined) ?? {};
const meta = (o: Obj): Obj => (o['metadata'] as Obj | undefined) ?? {};
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
const list = (v: unknown): string => (Array.isArray(v) ? v.map(String).join(',') : '');
/** Go template printing of a *float64: "<nil>" when unset, else %v. */
const pfloat = (v: unknown): string => (typeof v === 'number' ? goFormatG(v) : '<nil>');
const labels = (v: unknown): string =>
  v && typeof v === 'object' ? Object.entries(v as Obj).map(([k, x]) => `${k}=${str(x)}`).sort().join(',') : '';
function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

const NAME: Column = ['NAME', (o) => str(meta(o)['name'])];
const NAMESPACE: Column = ['NAMESPACE', (o) => str(meta(o)['namespace'])];
/** fmt's %v of an IPNAT struct, as calicoctl's join prints each entry. */
const nats = (v: unknown): string =>
  Array.isArray(v) ? v.map((n: Obj) => `{${str(n?.['internalIP'])} ${str(n?.['externalIP'])}}`).join(',') : '';
const WORKLOAD: Column = ['WORKLOAD', (o) => str(spec(o)['workload'] || spec(o)['pod'])];

/** calicoctl's resourcemgr headings: [narrow, wide]. */
const COLUMNS: Record<ResourceKind, readonly [readonly Column[], readonly Column[]]> = {
  HostEndpoint: [
    [NAME, ['NODE', (o) => str(spec(o)['node'])]],
    [
      NAME,
      ['NODE', (o) => str(spec(o)['node'])],
      ['INTERFACE', (o) => str(spec(o)['interfaceName'])],
      ['IPS', (o) => list(spec(o)['expectedIPs'])],
      ['PROFILES', (o) => list(spec(o)['profiles'])],
    ],
  ],
  GlobalNetworkPolicy: [
    [NAME, ['TIER', (o) => str(spec(o)['tier'])]],
    [NAME, ['TIER', (o) => str(spec(o)['tier'])], ['ORDER', (o) => pfloat(spec(o)['order'])], ['SELECTOR', (o) => str(spec(o)['selector'])]],
  ],
  StagedGlobalNetworkPolicy: [
    [NAME, ['TIER', (o) => str(spec(o)['tier'])]],
    [NAME, ['TIER', (o) => str(spec(o)['tier'])], ['ORDER', (o) => pfloat(spec(o)['order'])], ['SELECTOR', (o) => str(spec(o)['selector'])]],
  ],
  Profile: [[NAME], [NAME, ['LABELS', (o) => labels(spec(o)['labelsToApply'])]]],
  GlobalNetworkSet: [[NAME], [NAME, ['NETS', (o) => truncate(list(spec(o)['nets']), 80)]]],
  Tier: [
    [NAME, ['ORDER', (o) => pfloat(spec(o)['order'])]],
    [NAME, ['ORDER', (o) => pfloat(spec(o)['order'])]],
  ],
  FelixConfiguration: [[NAME], [NAME]],
  NetworkSet: [[NAME], [NAME, ['NETS', (o) => truncate(list(spec(o)['nets']), 80)]]],
  // calicoctl's narrow WEP table has no NAME column.
  WorkloadEndpoint: [
    [WORKLOAD, ['NODE', (o) => str(spec(o)['node'])], ['NETWORKS', (o) => list(spec(o)['ipNetworks'])], ['INTERFACE', (o) => str(spec(o)['interfaceName'])]],
    [
      NAME,
      WORKLOAD,
      ['NODE', (o) => str(spec(o)['node'])],
      ['NETWORKS', (o) => list(spec(o)['ipNetworks'])],
      ['INTERFACE', (o) => str(spec(o)['interfaceName'])],
      ['PROFILES', (o) => list(spec(o)['profiles'])],
      ['NATS', (o) => nats(spec(o)['ipNATs'])],
    ],
  ],
};

const NAMESPACED: ReadonlySet<ResourceKind> = new Set(['NetworkSet', 'WorkloadEndpoint']);


/** text/tabwriter with minwidth 5, tabwidth 1, padding 3, ' ' padding, every cell tab-terminated. */
export function tabwrite(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 5, [...cell].length + 3)));
  return rows.map((row) => row.map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length)).join('')).join('\n') + '\n';
}

function table(kind: ResourceKind, objects: readonly Obj[], wide: boolean, printNamespace: boolean): string {
  const base = COLUMNS[kind][wide ? 1 : 0];
  const cols = printNamespace && NAMESPACED.has(kind) ? [NAMESPACE, ...base] : base;
  return tabwrite([cols.map(([h]) => h), ...objects.map((o) => cols.map(([, f]) => f(o)))]);
}

function listObject(r: Extract<GetResult, { type: 'list' }>): Obj {
  return { kind: `${r.kind}List`, apiVersion: API_VERSION, metadata: { resourceVersion: r.revision }, items: r.items };
}

function indentBlock(text: string, by: string): string {
  return text.split('\n').map((l) => by + l).join('\n');
}

/** The text calicoctl prints for this result. */
export function formatGet(result: GetResult, format: OutputFormat, printNamespace = false): string {
  if (format === 'ps' || format === 'wide') {
    if (result.type === 'list') return `${table(result.kind, result.items, format === 'wide', printNamespace)}\n`;
    return result.items.map((it) => `${table(it.kind, [it.object], format === 'wide', printNamespace)}\n`).join('');
  }
  if (result.type === 'list') {
    const shape = listShape(result.kind);
    const obj = listObject(result);
    return format === 'json' ? goMarshalIndent(obj, shape) : toGoYAML(JSON.parse(goMarshal(obj, shape)));
  }
  const shaped = result.items.map((it) => ({ it, shape: KIND_SHAPES[it.kind]! }));
  if (format === 'json') {
    if (shaped.length === 1) return goMarshalIndent(shaped[0]!.it.object, shaped[0]!.shape);
    if (shaped.length === 0) return '[]';
    return `[\n${shaped.map(({ it, shape }) => indentBlock(goMarshalIndent(it.object, shape), '  ')).join(',\n')}\n]`;
  }
  const values = shaped.map(({ it, shape }) => JSON.parse(goMarshal(it.object, shape)) as unknown);
  return toGoYAML(values.length === 1 ? values[0] : values);
}
