/**
 * The datastore flags of `explain`, `test` and `diff` (a resources folder or etcd, as the relay
 * reads them) and the one-shot read behind them.
 */
import type { FlagHelp } from '../cli/help.ts';
import { ETCD_CONNECTION_FLAGS, etcdOverrides, type EtcdConnectionFlags } from '../cli/etcd-flags.ts';
import { UsageError, type CliIO } from '../cli/io.ts';
import type { Resource } from '../model/resource.ts';
import type { NodePlan } from '../plan/schema.ts';
import { createLogger } from '../platform/logger.ts';
import { plansFor, readDatastoreOnce } from './plan-source.ts';

export const DATASTORE_FLAGS = {
  resources: { type: 'string', multiple: true },
  ...ETCD_CONNECTION_FLAGS,
  'calicoctl-config': { type: 'string' },
} as const;

export const DATASTORE_HELP: readonly FlagHelp[] = [
  { flag: '--resources DIR|FILE', help: 'a resources folder or file (repeatable, or comma-separated)' },
  { flag: '--etcd URL[,URL]', help: 'Calico\'s etcd (TLS and auth: --etcd-ca-cert, --etcd-cert, --etcd-key, --etcd-username, --etcd-password, --calicoctl-config, or ETCD_* variables)' },
];

export type DatastoreValues = EtcdConnectionFlags & {
  resources?: string[] | undefined;
  'calicoctl-config'?: string | undefined;
};

export const hasDatastore = (v: DatastoreValues): boolean => !!(v.resources?.length || v.etcd?.length || v['calicoctl-config']);

const splitList = (xs: readonly string[]): string[] => xs.flatMap((x) => x.split(',').map((y) => y.trim()).filter(Boolean));

/**
 * One read; a datastore that cannot be read at all (a path that does not exist, etcd refusing)
 * is the operator's to fix: a usage error naming it, not a stack trace.
 */
async function readOnce(source: Parameters<typeof readDatastoreOnce>[0], warn: (m: string) => void, what: string) {
  try {
    return await readDatastoreOnce(source, warn);
  } catch (e) {
    throw new UsageError(`${what}: ${(e as Error).message}`);
  }
}

/** Valid resources of the datastore the flags name (invalid ones are warned about and left out, as the relay does). */
export async function datastoreResources(values: DatastoreValues, io: CliIO): Promise<{ resources: Resource[]; source: string }> {
  const folder = !!values.resources?.length;
  const etcd = !!(values.etcd?.length || values['calicoctl-config']);
  if (folder === etcd) throw new UsageError('give exactly one datastore: --resources DIR or --etcd URL');
  const warn = (m: string) => io.err(`warning: ${m}`);
  if (folder) {
    const paths = splitList(values.resources!);
    const { FolderSource } = await import('../datastore/folder-source.ts');
    const state = await readOnce(new FolderSource(paths), warn, `--resources ${paths.join(', ')}`);
    return { resources: [...state.resources], source: `resources ${paths.join(', ')}` };
  }
  const { openEtcdSource } = await import('../cli/etcd-datastore.ts');
  const overrides = etcdOverrides(values);
  const source = await openEtcdSource(overrides, values['calicoctl-config'], io, createLogger('error'), 5_000);
  const state = await readOnce(source, warn, `etcd ${overrides.endpoints.join(',') || '(from calicoctl config)'}`);
  return { resources: [...state.resources], source: `etcd ${overrides.endpoints.join(',') || '(from calicoctl config)'} revision ${state.revision}` };
}

/** The plans of `nodes` (default: every node a host endpoint names) from the datastore the flags name. */
export async function datastorePlans(values: DatastoreValues, io: CliIO, nodes?: readonly string[]): Promise<{ plans: Map<string, NodePlan>; source: string; resources: Resource[] }> {
  const { resources, source } = await datastoreResources(values, io);
  return { plans: plansFor(resources, nodes), source, resources };
}
