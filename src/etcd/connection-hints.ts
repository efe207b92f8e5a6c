/** How the etcd client reads auth and TLS failures: which ones a new login fixes, and what to tell the operator. */

/**
 * The token is missing (expired: simple tokens lapse after --auth-token-ttl idle seconds, JWTs
 * at their exp) or predates an auth change: log in again and repeat the call once. The server
 * checked the token before doing anything, so repeating a write is safe.
 */
export const STALE_TOKEN = /invalid auth token|auth: revision in header is old|user name is empty/;

/** Certificate trouble is a configuration mistake, not an outage: say which setting to check. */
export function tlsHint(e: unknown): string {
  const text = `${(e as { code?: string }).code ?? ''} ${(e as Error).message ?? ''}`;
  if (/CERT|certificate|SELF_SIGNED|UNABLE_TO_VERIFY|unknown ca|issuer/i.test(text)) {
    return ' (TLS: the server certificate is not trusted by the CA given with --etcd-ca-cert / ETCD_CA_CERT_FILE / etcdCACertFile, or does not name this host)';
  }
  if (/handshake|alert|bad certificate|certificate required/i.test(text)) {
    return ' (TLS: etcd refused the connection; with --client-cert-auth it needs --etcd-cert and --etcd-key signed by its --trusted-ca-file)';
  }
  return '';
}
