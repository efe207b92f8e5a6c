// What namespaced kinds (NetworkSet, WorkloadEndpoint) share: the namespace rule and the
// default calicoctl applies when a manifest leaves the namespace out.
import * as v from 'valibot';
import { DNS_LABEL_RE, show } from './common.ts';
import { metadataSchema, type NameRule } from './metadata.ts';

/** calicoctl's namespace for a namespaced resource given without one (and without -n). */
export const DEFAULT_NAMESPACE = 'default';

export const NAMESPACED_KINDS: readonly string[] = Object.freeze(['NetworkSet', 'WorkloadEndpoint']);

export function isNamespacedKind(kind: string): boolean {
  return NAMESPACED_KINDS.includes(kind);
}

/** The namespace a resource lives in: its own, else calicoctl's default. */
export function namespaceOf(r: { metadata: { namespace?: string } }): string {
  return r.metadata.namespace || DEFAULT_NAMESPACE;
}

/**
 * ObjectMeta whose namespace, when given, must be a Kubernetes namespace name (a DNS-1123
 * label): it ends up in an etcd key segment and in the `projectcalico.org/namespace` label value.
 */
export const namespacedMetadataSchema = (name: NameRule, forbiddenLabelKeys: readonly string[] = []) =>
  v.pipe(
    metadataSchema(name, forbiddenLabelKeys),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const ns = dataset.value.namespace;
      if (ns === undefined || ns === '') return;
      if (ns.length > 63 || !DNS_LABEL_RE.test(ns)) {
        addIssue({
          message: `namespace ${show(ns)} must be a DNS-1123 label (lower-case alphanumerics and "-", at most 63 characters)`,
          path: [{ type: 'object', origin: 'value', input: dataset.value, key: 'namespace', value: ns }],
        });
      }
    }),
  );
