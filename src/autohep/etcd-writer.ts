/**
 * Where auto host endpoints are written: etcd in Calico's layout, through the same store the
 * resource commands use (`outpost apply`: CalicoStore, calicoctl's create / compare-and-swap
 * update / delete semantics, byte-identical values). The connection is resolved exactly as the
 * relay's datastore connection is (its settings over a calicoctl.cfg or calicoctl's ETCD_*
 * variables): a separate client, so a write never waits behind the relay's watch.
 */
import { EtcdClient } from '../etcd/client.ts';
import { CalicoStore, type Found } from '../cli/resource-store.ts';
import { etcdClientOptions, resolveEtcdConnection, type EtcdConnectionInput } from '../config/etcd-connection.ts';
import type { HostEndpoint } from '../model/host-endpoint.ts';
import type { Logger } from '../platform/logger.ts';
import { UsageError, type CliIO } from '../cli/io.ts';

/** What the controller needs of a datastore (CalicoStore has it). */
export interface HepStore {
  get(kind: 'HostEndpoint', name: string): Promise<Found | undefined>;
  create(r: HostEndpoint): Promise<string>;
  /** With metadata.resourceVersion: a compare-and-swap on it. */
  update(r: HostEndpoint): Promise<string>;
  delete(kind: 'HostEndpoint', name: string, resourceVersion?: string): Promise<Found>;
}

export async function openAutoHepStore(overrides: EtcdConnectionInput, configFile: string | undefined, io: CliIO, log: Logger): Promise<HepStore> {
  try {
    const connection = await resolveEtcdConnection({ overrides, configFile, env: io.env });
    const { options } = await etcdClientOptions(connection);
    log.info({ endpoints: options.endpoints }, 'auto host endpoints: written to etcd');
    return new CalicoStore(new EtcdClient(options));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
