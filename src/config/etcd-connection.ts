/**
 * How to reach etcd, the way calicoctl finds out, in one place for the relay and the resource
 * commands: endpoints, TLS (CA, client certificate and key) and etcd's own users.
 *
 * Sources, as calicoctl (libcalico-go/lib/apiconfig) reads them:
 * - a calicoctl.cfg (`-c FILE`): apiVersion projectcalico.org/v3, kind CalicoAPIConfig,
 *   spec.datastoreType etcdv3, etcdEndpoints, etcdCACertFile, etcdCertFile, etcdKeyFile,
 *   etcdUsername, etcdPassword (and the inline etcdCACert, etcdCert, etcdKey);
 * - else the environment: ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE,
 *   ETCD_USERNAME, ETCD_PASSWORD, each also as CALICO_ETCD_* (which wins, as in envconfig);
 * - else /etc/calico/calicoctl.cfg when it exists (calicoctl's default).
 * Like calicoctl, one of those is the base, never a mix; outpost's own flags and settings
 * (--etcd, --etcd-ca-cert, ...) then override field by field.
 *
 * What is refused (fail closed, with the setting named): a key without a certificate or the
 * reverse, TLS files with an http:// endpoint (they would silently not be used), a username
 * without a password, a client key readable by group or others. The password never appears in
 * a message.
 */
import { existsSync } from 'node:fs';
import * as v from 'valibot';
import { loadConfigFile } from './load-file.ts';
import type { EtcdClientOptions } from '../etcd/client.ts';
import { readPrivateFile, readSmallFile } from '../platform/private-file.ts';

export const CALICOCTL_DEFAULT_CONFIG = '/etc/calico/calicoctl.cfg';

/** Paths or inline PEM for TLS, and credentials; every field optional until resolved. */
export interface EtcdConnection {
  readonly endpoints?: readonly string[];
  readonly caCertFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Inline PEM (calicoctl.cfg's etcdCACert, etcdCert, etcdKey). */
  readonly caCert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly username?: string;
  readonly password?: string;
}

/** The same, with "not given" spelled undefined (flags, env). */
export type EtcdConnectionInput = { readonly [K in keyof EtcdConnection]?: EtcdConnection[K] | undefined };

export class EtcdConnectionError extends Error {
  override readonly name = 'EtcdConnectionError';
}

const Str = v.optional(v.pipe(v.string(), v.maxLength(64 * 1024)));

/** calicoctl.cfg: fields calicoctl knows but outpost does not use (kubeconfig, ...) are accepted and ignored. */
export const CalicoAPIConfigSchema = v.object({
  apiVersion: v.literal('projectcalico.org/v3', 'apiVersion must be projectcalico.org/v3'),
  kind: v.literal('CalicoAPIConfig', 'kind must be CalicoAPIConfig'),
  metadata: v.optional(v.unknown()),
  spec: v.object({
    datastoreType: v.optional(v.picklist(['etcdv3', 'kubernetes'], 'datastoreType must be etcdv3 or kubernetes')),
    etcdEndpoints: Str,
    etcdDiscoverySrv: Str,
    etcdUsername: Str,
    etcdPassword: Str,
    etcdKeyFile: Str,
    etcdCertFile: Str,
    etcdCACertFile: Str,
    etcdKey: Str,
    etcdCert: Str,
    etcdCACert: Str,
  }),
});

const splitList = (s: string | undefined): string[] | undefined => {
  const list = (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  return list.length ? list : undefined;
};

/** Drops empty and undefined fields, so that "unset" never overrides. */
function compact(c: EtcdConnectionInput): EtcdConnection {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(c)) {
    if (val === undefined || val === '' || (Array.isArray(val) && val.length === 0)) continue;
    out[k] = val;
  }
  return out as EtcdConnection;
}

/** Reads and validates a calicoctl.cfg. */
export async function loadCalicoctlConfig(path: string): Promise<EtcdConnection> {
  const file = await loadConfigFile(path, true);
  if (!file.ok) throw new EtcdConnectionError(file.error);
  const r = v.safeParse(CalicoAPIConfigSchema, file.settings);
  if (!r.success) {
    throw new EtcdConnectionError(`${path}: invalid calicoctl config: ${r.issues.map((i) => `${v.getDotPath(i) ?? '(file)'}: ${i.message}`).join('; ')}`);
  }
  const s = r.output.spec;
  if (s.datastoreType === 'kubernetes' || (s.datastoreType === undefined && !s.etcdEndpoints)) {
    throw new EtcdConnectionError(`${path}: datastoreType is kubernetes; outpost reads Calico's etcdv3 datastore (set spec.datastoreType: etcdv3 and spec.etcdEndpoints)`);
  }
  if (s.etcdDiscoverySrv) throw new EtcdConnectionError(`${path}: etcdDiscoverySrv is not supported; list the endpoints in etcdEndpoints`);
  return compact({
    endpoints: splitList(s.etcdEndpoints), caCertFile: s.etcdCACertFile, certFile: s.etcdCertFile, keyFile: s.etcdKeyFile,
    caCert: s.etcdCACert, cert: s.etcdCert, key: s.etcdKey, username: s.etcdUsername, password: s.etcdPassword,
  });
}

/** calicoctl's environment (envconfig with prefix "calico": CALICO_ETCD_X first, then ETCD_X). */
export function etcdFromEnv(env: Readonly<Record<string, string | undefined>>): EtcdConnection {
  const get = (name: string) => env[`CALICO_${name}`] || env[name] || undefined;
  return compact({
    endpoints: splitList(env['OUTPOST_ETCD_ENDPOINTS']) ?? splitList(get('ETCD_ENDPOINTS')),
    caCertFile: get('ETCD_CA_CERT_FILE'), certFile: get('ETCD_CERT_FILE'), keyFile: get('ETCD_KEY_FILE'),
    username: get('ETCD_USERNAME'), password: get('ETCD_PASSWORD'),
  });
}

/**
 * The connection to use: `overrides` (flags, outpost's settings) over one base, which is
 * `configFile` if given, else the environment if it names anything, else calicoctl's default
 * file if it exists.
 */
export async function resolveEtcdConnection(opts: {
  overrides: EtcdConnectionInput;
  configFile?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  defaultConfigFile?: string;
}): Promise<EtcdConnection> {
  let base: EtcdConnection;
  if (opts.configFile) base = await loadCalicoctlConfig(opts.configFile);
  else {
    base = etcdFromEnv(opts.env);
    const fallback = opts.defaultConfigFile ?? CALICOCTL_DEFAULT_CONFIG;
    if (Object.keys(base).length === 0 && existsSync(fallback)) base = await loadCalicoctlConfig(fallback);
  }
  const over = compact(opts.overrides);
  // A file given by flag replaces an inline PEM from the base (and the reverse cannot happen: flags are paths).
  const merged: Record<string, unknown> = { ...base, ...over };
  if (over.caCertFile) delete merged['caCert'];
  if (over.certFile) delete merged['cert'];
  if (over.keyFile) delete merged['key'];
  return merged as EtcdConnection;
}

/** Checks the connection and reads its files into the client's options. */
export async function etcdClientOptions(c: EtcdConnection): Promise<{ options: EtcdClientOptions; warnings: string[] }> {
  const endpoints = c.endpoints ?? [];
  if (endpoints.length === 0) {
    throw new EtcdConnectionError('no etcd endpoints: give --etcd URL[,URL], ETCD_ENDPOINTS, or a calicoctl config (-c FILE) with spec.etcdEndpoints');
  }
  const hasCert = !!(c.certFile || c.cert);
  const hasKey = !!(c.keyFile || c.key);
  if (hasCert !== hasKey) throw new EtcdConnectionError(`a client ${hasCert ? 'certificate needs its key' : 'key needs its certificate'}: give both --etcd-cert and --etcd-key (ETCD_CERT_FILE and ETCD_KEY_FILE)`);
  const tls = hasCert || !!(c.caCertFile || c.caCert);
  const plain = endpoints.filter((e) => e.startsWith('http://'));
  if (tls && plain.length) throw new EtcdConnectionError(`TLS settings are given but ${plain.join(', ')} ${plain.length === 1 ? 'is' : 'are'} plain http: use https:// (or drop the TLS settings)`);
  if (c.username && c.password === undefined) throw new EtcdConnectionError(`etcd user ${JSON.stringify(c.username)} has no password: give --etcd-password or ETCD_PASSWORD`);
  if (!c.username && c.password !== undefined) throw new EtcdConnectionError('an etcd password without a username: give --etcd-username or ETCD_USERNAME');
  const warnings: string[] = [];
  if (c.username && plain.length) warnings.push(`etcd credentials for ${JSON.stringify(c.username)} travel in clear text to ${plain.join(', ')}; use https:// endpoints`);
  const read = async (what: () => Promise<string>) => {
    try {
      return await what();
    } catch (e) {
      throw new EtcdConnectionError((e as Error).message);
    }
  };
  const ca = c.caCertFile ? await read(() => readSmallFile(c.caCertFile!)) : c.caCert;
  const cert = c.certFile ? await read(() => readSmallFile(c.certFile!)) : c.cert;
  const key = c.keyFile ? await read(() => readPrivateFile(c.keyFile!)) : c.key;
  const options: EtcdClientOptions = {
    endpoints,
    ...(tls ? { tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}),
    ...(c.username ? { credentials: { username: c.username, password: c.password ?? '' } } : {}),
  };
  return { options, warnings };
}
