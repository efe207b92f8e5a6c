/**
 * The etcd datastore as the relay and `bundle export` open it: TLS and auth resolved calicoctl's
 * way (config/etcd-connection.ts): the command's own settings over a calicoctl.cfg or calicoctl's
 * ETCD_* variables (the flags: etcd-flags.ts). A bad file or a missing key is a usage error; the
 * password is never logged.
 */
import { EtcdSource } from '../datastore/etcd-source.ts';
import { EtcdClient } from '../etcd/client.ts';
import { etcdClientOptions, resolveEtcdConnection, type EtcdConnectionInput } from '../config/etcd-connection.ts';
import type { Logger } from '../platform/logger.ts';
import { UsageError, type CliIO } from './io.ts';

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
