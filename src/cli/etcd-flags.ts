/**
 * The etcd connection flags, calicoctl's, as every command that reads Calico's etcd takes them
 * (the resource commands, `bundle export`, and `explain`/`test`/`diff` with their datastore
 * flags), and what they override of a calicoctl.cfg or the ETCD_* variables. Flag data only: a
 * command can declare them without loading the etcd client (etcd-datastore.ts opens the source).
 */
import type { EtcdConnectionInput } from '../config/etcd-connection.ts';

/** Endpoints, TLS files and credentials; a command adds its own name for the calicoctl config file. */
export const ETCD_CONNECTION_FLAGS = {
  etcd: { type: 'string', multiple: true },
  'etcd-ca-cert': { type: 'string' },
  'etcd-cert': { type: 'string' },
  'etcd-key': { type: 'string' },
  'etcd-username': { type: 'string' },
  'etcd-password': { type: 'string' },
} as const;

/** The resource commands' and `bundle export`'s set: the connection flags and `-c calicoctl.cfg`. */
export const ETCD_FLAGS = { ...ETCD_CONNECTION_FLAGS, config: { type: 'string', short: 'c' } } as const;

export const ETCD_USAGE = '[--etcd URL[,URL]] [-c calicoctl.cfg] [--etcd-ca-cert F --etcd-cert F --etcd-key F] [--etcd-username U --etcd-password P]';

export type EtcdConnectionFlags = { etcd?: string[] | undefined } & { [k in 'etcd-ca-cert' | 'etcd-cert' | 'etcd-key' | 'etcd-username' | 'etcd-password']?: string | undefined };
export type EtcdFlags = EtcdConnectionFlags & { config?: string | undefined };

/** The flags as overrides of the calicoctl.cfg / ETCD_* base (endpoints may be comma-separated or repeated). */
export function etcdOverrides(values: EtcdConnectionFlags): EtcdConnectionInput & { endpoints: string[] } {
  return {
    endpoints: (values.etcd ?? []).flatMap((x) => x.split(',').map((y) => y.trim()).filter(Boolean)),
    caCertFile: values['etcd-ca-cert'], certFile: values['etcd-cert'], keyFile: values['etcd-key'],
    username: values['etcd-username'], password: values['etcd-password'],
  };
}
