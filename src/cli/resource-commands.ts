/**
 * `outpost apply|create|replace|delete|get`: calicoctl's resource commands against etcd in
 * Calico's v3 layout (calicoctl with DATASTORE_TYPE=etcdv3 can keep working on the same data).
 *
 *   create  -f FILE|DIR|- [-R] [--skip-exists]      fails for a resource that exists
 *   replace -f ...                                   compare-and-swap on the revision
 *   apply   -f ...                                   create, or update when it exists
 *   delete  (KIND NAME... | -f ...) [--skip-not-exists]
 *   get     (KIND [NAME...] | -f ...) [-o ps|wide|yaml|json]
 *   all:    --etcd URL[,URL] (or OUTPOST_ETCD_ENDPOINTS, or ETCD_ENDPOINTS), -c calicoctl.cfg,
 *           --etcd-ca-cert, --etcd-cert, --etcd-key, --etcd-username, --etcd-password
 *           (config/etcd-connection.ts: calicoctl's sources and precedence)
 *   namespaced kinds (NetworkSet, WorkloadEndpoint): -n NS (default "default"); get also -A
 *
 * Namespaces follow calicoctl's handleNamespace: a resource without one takes -n, else
 * "default"; one that names a different namespace than -n is refused; a global kind refuses both.
 * Input is validated in full before anything is written: one invalid resource and nothing is
 * written, every problem is listed with file, resource and field, and the exit code is 1.
 * Calico kinds outpost does not manage (NetworkPolicy, BGPPeer, ...) are not stored, and the
 * command says so; the other resources of the same files are.
 * Per-resource refusals (exists, conflict) do not stop the others; each is reported. An
 * unreachable etcd stops the command. Exit codes: 0 ok, 1 failure, 2 usage.
 */
import { parseArgs } from 'node:util';
import { formatResourceError } from '../model/validate.ts';
import type { Resource, ResourceKind } from '../model/resource.ts';
import { DEFAULT_NAMESPACE, isNamespacedKind } from '../model/namespaced.ts';
import { EtcdClient, EtcdError } from '../etcd/client.ts';
import { UsageError, type CliIO } from './io.ts';
import { etcdClientOptions, resolveEtcdConnection } from '../config/etcd-connection.ts';
import { ETCD_FLAGS, ETCD_USAGE, etcdOverrides, type EtcdFlags } from './etcd-flags.ts';
import { loadInput, parseKind, type LoadedResource, type ResourceIO } from './resource-input.ts';
import { formatGet, type GetResult, type OutputFormat } from './resource-output.ts';
import { CalicoStore, StoreError, type Found } from './resource-store.ts';

type Action = 'create' | 'replace' | 'apply' | 'delete';
const PAST: Record<Action, string> = { create: 'created', replace: 'replaced', apply: 'applied', delete: 'deleted' };

const COMMON = {
  filename: { type: 'string', short: 'f', multiple: true },
  recursive: { type: 'boolean', short: 'R' },
  ...ETCD_FLAGS,
  namespace: { type: 'string', short: 'n' },
} as const;

const USAGE: Record<Action | 'get', string> = {
  create: `usage: outpost create -f FILE|DIR|- [-f ...] [-R] [-n NS] [--skip-exists] ${ETCD_USAGE}`,
  replace: `usage: outpost replace -f FILE|DIR|- [-f ...] [-R] [-n NS] ${ETCD_USAGE}`,
  apply: `usage: outpost apply -f FILE|DIR|- [-f ...] [-R] [-n NS] ${ETCD_USAGE}`,
  delete: `usage: outpost delete (KIND NAME [NAME...] | -f FILE|DIR|-) [-n NS] [--skip-not-exists] ${ETCD_USAGE}`,
  get: `usage: outpost get (KIND [NAME...] | -f FILE|DIR|-) [-n NS | -A] [-o ps|wide|yaml|json] ${ETCD_USAGE}`,
};

async function openStore(values: EtcdFlags, io: CliIO): Promise<CalicoStore> {
  try {
    const connection = await resolveEtcdConnection({
      overrides: etcdOverrides(values),
      configFile: values.config,
      env: io.env,
    });
    const { options, warnings } = await etcdClientOptions(connection);
    for (const w of warnings) io.err(`warning: ${w}`);
    return new CalicoStore(new EtcdClient(options));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

interface Target {
  readonly kind: ResourceKind;
  readonly name: string;
  /** For a namespaced kind: where it is (after -n and the "default" rule). */
  readonly namespace: string | undefined;
  readonly source: string | undefined;
  readonly item: LoadedResource | undefined;
}

const label = (t: Target) => `${t.source ? `${t.source}: ` : ''}${t.kind} '${t.namespace === undefined ? '' : `${t.namespace}/`}${t.name}'`;

/**
 * calicoctl's handleNamespace for one resource: the namespace it is addressed in, or the
 * refusal. `cliNs` is -n; -A only reaches here for a listing.
 */
function resolveNamespace(kind: ResourceKind, resNs: string | undefined, cliNs: string | undefined): { ok: true; namespace: string | undefined } | { ok: false; message: string } {
  if (!isNamespacedKind(kind)) {
    if (resNs) return { ok: false, message: `namespace should not be specified for a non-namespaced resource. ${kind} is not a namespaced resource` };
    if (cliNs) return { ok: false, message: `${kind} is not namespaced` };
    return { ok: true, namespace: undefined };
  }
  if (resNs && cliNs && resNs !== cliNs) return { ok: false, message: `resource namespace does not match client namespace. ${resNs} != ${cliNs}` };
  return { ok: true, namespace: resNs || cliNs || DEFAULT_NAMESPACE };
}

/** Targets with their namespaces settled; refusals are reported and leave the list (returns undefined when any). */
function withNamespaces(targets: readonly Target[], cliNs: string | undefined, io: CliIO): Target[] | undefined {
  const out: Target[] = [];
  const problems: string[] = [];
  for (const t of targets) {
    const r = resolveNamespace(t.kind, t.item?.resource.metadata.namespace ?? t.namespace, cliNs);
    if (!r.ok) {
      problems.push(`${label(t)}: ${r.message}`);
      continue;
    }
    const item = t.item && r.namespace !== undefined ? { ...t.item, resource: { ...t.item.resource, metadata: { ...t.item.resource.metadata, namespace: r.namespace } } as Resource } : t.item;
    out.push({ ...t, namespace: r.namespace, item });
  }
  if (problems.length === 0) return out;
  for (const p of problems) io.err(p);
  io.err(`nothing was done: ${problems.length} namespace problem(s)`);
  return undefined;
}

/** Loads -f input; on any problem reports everything and returns undefined (exit 1). */
async function targetsFromFiles(paths: readonly string[], recursive: boolean, io: ResourceIO, skippedVerb = 'not stored'): Promise<Target[] | undefined> {
  const input = await loadInput(paths, recursive, io);
  for (const p of input.problems) io.err(p);
  for (const e of input.errors) io.err(formatResourceError(e));
  for (const w of input.warnings) {
    if (w.skipped) io.err(`${skippedVerb}: ${w.source ? `${w.source}: ` : ''}${w.skipped.join(', ')} (Calico kinds outpost does not manage; use calicoctl for them)`);
    else io.err(`warning: ${formatResourceError(w)}`);
  }
  if (input.problems.length || input.errors.length) {
    io.err(`nothing was written: ${input.errors.length} invalid resource problem(s), ${input.problems.length} input problem(s)`);
    return undefined;
  }
  return input.resources.map((item) => ({ kind: item.resource.kind, name: item.resource.metadata.name, namespace: item.resource.metadata.namespace, source: item.source, item }));
}

function targetsFromArgs(positionals: readonly string[], needName: boolean, usage: string): Target[] {
  const [kindWord, ...names] = positionals;
  if (!kindWord) throw new UsageError(`give KIND${needName ? ' NAME' : ' [NAME]'} or -f FILE\n${usage}`);
  const kind = parseKind(kindWord);
  if (needName && names.length === 0) throw new UsageError(`give the name of the ${kind} to delete\n${usage}`);
  if (names.some((n) => n === '')) throw new UsageError('resource name may not be empty');
  return names.map((name) => ({ kind, name, namespace: undefined, source: undefined, item: undefined }));
}

function summary(action: Action, targets: readonly Target[], done: number, failures: readonly string[], io: CliIO): number {
  const kinds = new Set(targets.map((t) => t.kind));
  const kind = kinds.size === 1 ? `'${[...kinds][0]}' ` : '';
  for (const f of failures) io.err(`Failed to ${action} ${kind}resource: ${f}`);
  if (failures.length === 0) {
    io.out(`Successfully ${PAST[action]} ${done} ${kind}resource(s)`);
    return 0;
  }
  if (done > 0) io.out(`Partial success: ${PAST[action]} ${done} out of ${targets.length} ${kind}resources`);
  return 1;
}

async function writeCommand(action: Action, args: string[], io: ResourceIO): Promise<number> {
  const options = { ...COMMON, 'skip-exists': { type: 'boolean' }, 'skip-not-exists': { type: 'boolean' } } as const;
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
  if (values['skip-exists'] && action !== 'create') throw new UsageError(`--skip-exists is an option of create\n${USAGE[action]}`);
  if (values['skip-not-exists'] && action !== 'delete') throw new UsageError(`--skip-not-exists is an option of delete\n${USAGE[action]}`);
  const files = values.filename ?? [];
  if (files.length && positionals.length) throw new UsageError(`give either -f or KIND NAME, not both\n${USAGE[action]}`);
  if (action !== 'delete' && files.length === 0) throw new UsageError(`${action} needs -f FILE|DIR|-\n${USAGE[action]}`);
  const store = await openStore(values, io);
  const loaded = files.length ? await targetsFromFiles(files, values.recursive ?? false, io) : targetsFromArgs(positionals, true, USAGE[action]);
  const targets = loaded && withNamespaces(loaded, values.namespace, io);
  if (!targets) return 1;
  if (targets.length === 0) {
    io.out('No resources specified');
    return 0;
  }
  let done = 0;
  const failures: string[] = [];
  try {
    if (action !== 'delete') await store.ensureBuiltinTiers();
    for (const t of targets) {
      try {
        const r = t.item?.resource;
        if (action === 'create') await store.create(r!);
        else if (action === 'replace') await store.update(r!);
        else if (action === 'apply') await store.apply(r!);
        else await store.delete(t.kind, t.name, r?.metadata.resourceVersion || undefined, t.namespace);
        done++;
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        const skipped = (e.code === 'AlreadyExists' && values['skip-exists']) || (e.code === 'DoesNotExist' && values['skip-not-exists']);
        if (skipped) done++;
        else failures.push(`${label(t)}: ${e.message}`);
      }
    }
  } catch (e) {
    if (!(e instanceof EtcdError)) throw e;
    // Never "Successfully ..." here: what was done is counted, and the failure said.
    for (const f of failures) io.err(`Failed to ${action} resource: ${f}`);
    io.err(etcdFailure(e));
    io.err(done === 0 ? `nothing was ${PAST[action]}` : `etcd failed after ${done} of ${targets.length} resource(s) were ${PAST[action]}; the others were not`);
    return 1;
  }
  return summary(action, targets, done, failures, io);
}

/** etcd's error; an answer that is not etcd's says so (a wrong port or URL is the usual cause). */
function etcdFailure(e: EtcdError): string {
  const hint = e.code === 'BAD_RESPONSE' ? ' (is this the client URL of an etcd server?)' : '';
  return `etcd: ${e.message}${hint}`;
}

/** calicoctl lists tiers by order (stable; no order last). */
function byTierOrder(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const order = (o: Record<string, unknown>) => (o['spec'] as { order?: unknown } | undefined)?.order;
  const x = order(a);
  const y = order(b);
  if (typeof x !== 'number') return typeof y === 'number' ? 1 : 0;
  return typeof y === 'number' ? x - y : -1;
}

const FORMATS: readonly string[] = ['ps', 'wide', 'yaml', 'yml', 'json'];

async function getCommand(args: string[], io: ResourceIO): Promise<number> {
  const options = { ...COMMON, output: { type: 'string', short: 'o', default: 'ps' }, 'all-namespaces': { type: 'boolean', short: 'A' } } as const;
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
  if (!FORMATS.includes(values.output)) throw new UsageError(`unrecognized output format '${values.output}' (ps, wide, yaml, json)`);
  const format = (values.output === 'yml' ? 'yaml' : values.output) as OutputFormat;
  const files = values.filename ?? [];
  if (files.length && positionals.length) throw new UsageError(`give either -f or KIND [NAME], not both\n${USAGE.get}`);
  const allNs = values['all-namespaces'] ?? false;
  if (allNs && values.namespace) throw new UsageError('cannot use both --namespace and --all-namespaces flags at the same time');
  const printNamespace = allNs || values.namespace !== undefined;
  const store = await openStore(values, io);
  const loaded = files.length ? await targetsFromFiles(files, values.recursive ?? false, io, 'not read') : targetsFromArgs(positionals, false, USAGE.get);
  if (!loaded) return 1;
  if (allNs && loaded.length > 0) throw new UsageError('cannot use --all-namespace flag for getting a single resource');
  try {
    if (!files.length && loaded.length === 0) {
      const kind = parseKind(positionals[0]!);
      if (!isNamespacedKind(kind) && (allNs || values.namespace)) throw new UsageError(`${kind} is not namespaced`);
      const listed = await store.list(kind, isNamespacedKind(kind) && !allNs ? values.namespace || DEFAULT_NAMESPACE : undefined);
      for (const p of listed.problems) io.err(`warning: ${p}`);
      const items = listed.items.map((f) => f.object);
      if (kind === 'Tier') items.sort(byTierOrder);
      const result: GetResult = { type: 'list', kind, revision: listed.revision, items };
      io.out(formatGet(result, format, printNamespace));
      return 0;
    }
    const targets = withNamespaces(loaded, values.namespace, io);
    if (!targets) return 1;
    const found: Found[] = [];
    const missing: string[] = [];
    for (const t of targets) {
      try {
        const f = await store.get(t.kind, t.name, t.namespace);
        if (f) found.push(f);
        else missing.push(`resource does not exist: ${t.kind}(${t.namespace === undefined ? '' : `${t.namespace}/`}${t.name})`);
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        missing.push(`${label(t)}: ${e.message}`);
      }
    }
    if (found.length) io.out(formatGet({ type: 'objects', items: found.map((f) => ({ kind: f.kind, object: f.object })) }, format, printNamespace));
    for (const m of missing) io.err(m);
    return missing.length ? 1 : 0;
  } catch (e) {
    if (!(e instanceof EtcdError)) throw e;
    io.err(etcdFailure(e));
    return 1;
  }
}

export const RESOURCE_COMMANDS: Record<Action | 'get', (args: string[], io: CliIO) => Promise<number>> = {
  apply: (args, io) => writeCommand('apply', args, io),
  create: (args, io) => writeCommand('create', args, io),
  replace: (args, io) => writeCommand('replace', args, io),
  delete: (args, io) => writeCommand('delete', args, io),
  get: (args, io) => getCommand(args, io),
};
