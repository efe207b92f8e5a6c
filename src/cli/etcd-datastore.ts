/**
 * The etcd datastore as the relay and `bundle export` open it: TLS and auth resolved calicoctl's
 * way (config/etcd-connection.ts): the command's own settings over a calicoctl.cfg or calicoctl's
 * ETCD_* variables. A bad file or a missing key is a usage error; the password is never logged.
 */
import { EtcdSource } from '../datastore/etcd-source.ts';
import { EtcdClient } from '../etcd/client.ts';
import { etcdClientOptions, resolveEtcdConnection, type EtcdConnectionInput } from '../config/etcd-connection.ts';
import type { Logger } from '../platform/logger.ts';
import { UsageError, type CliIO } from './io.ts';

/** The etcd connection flags, calicoctl's (the resource commands and `bundle export` take them). */
export const ETCD_FLAGS = {
  etcd: { type: 'string', multiple: true },
  config: { type: 'string', short: 'c' },
  'etcd-ca-cert': { type: 'string' },
  'etcd-cert': { type: 'string' },
  'etcd-key': { type: 'string' },
  'etcd-username': { type: 'string' },
  'etcd-password': { type: 'string' },
} as const;

export const ETCD_USAGE = '[--etcd URL[,URL]] [-c calicoctl.cfg] [--etcd-ca-cert F --etcd-cert F --etcd-key F] [--etcd-username U --etcd-password P]';

export type EtcdFlags = { etcd?: string[] | undefined; config?: string | undefined } & { [k in 'etcd-ca-cert' | 'etcd-cert' | 'etcd-key' | 'etcd-username' | 'etcd-password']?: string | undefined };

/** The flags as overrides of the calicoctl.cfg / ETCD_* base (endpoints may be comma-separated or repeated). */
export function etcdOverrides(values: EtcdFlags): EtcdConnectionInput {
  return {
    endpoints: (values.etcd ?? []).flatMap((x) => x.split(',').map((y) => y.trim()).filter(Boolean)),
    caCertFile: values['etcd-ca-cert'], certFile: values['etcd-cert'], keyFile: values['etcd-key'],
    username: values['etcd-username'], password: values['etcd-password'],
  };
}

export async function openEtcdSource(overrides: EtcdConnectionInput, configFile: string | undefined, io: CliIO, log: Logger, startTimeoutMs: number): Promise<EtcdSource> {
  try {
    const connection = await resolveEtcdConnection({ overrides, configFile, env: io.env });
    const { options, warnings } = await etcdClientOptions(connection);
    for (const w of warnings) log.warn(w);
    log.info({ endpoints: options.endpoints, tls: options.tls !== undefined, clientCert: options.tls?.cert !== undefined, user: options.credentials?.username }, 'etcd connection');
    return new EtcdSource({ endpoints: options.endpoints, client: new EtcdClient(options), log, startTimeoutMs });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
