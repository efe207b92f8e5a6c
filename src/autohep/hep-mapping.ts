/**
 * Report → HostEndpoint, and what to do about the one stored, pure.
 *
 * The resource is the one Calico's kube-controllers writes for a node (its "auto host
 * endpoint"): named `<node>-auto-hep`, `interfaceName: "*"` (every interface of the node),
 * `expectedIPs` the node's addresses, the profile `projectcalico-default-allow` (so a node is
 * open until a policy selects it, as Calico's are), and the node's labels plus
 * `projectcalico.org/created-by`. One difference: kube-controllers marks its resources
 * `calico-kube-controllers`; outpost marks its own `outpost-relay`. The marker is what makes a
 * HEP outpost's to change or delete: a HEP of the same name without it (an operator's, or
 * kube-controllers') is never touched, and both controllers can run against one datastore
 * without rewriting each other's resources.
 */
import { createHash } from 'node:crypto';
import type { HostEndpoint } from '../model/host-endpoint.ts';
import { validateResource } from '../model/validate.ts';
import { API_VERSION } from '../model/common.ts';
import { DEFAULT_ALLOW_PROFILE } from '../datastore/calico-layout.ts';
import type { InterfacesReport } from './report-schema.ts';
import { reportedAddresses } from './interface-report.ts';

export const CREATED_BY_LABEL = 'projectcalico.org/created-by';
export const CREATED_BY_OUTPOST = 'outpost-relay';
const SUFFIX = 'auto-hep';
const MAX_NAME = 253;

/**
 * `<node>-auto-hep`; a name over 253 characters (a node name near the limit) becomes a hash of
 * it, as kube-controllers names it, so both agree on which resource is the node's.
 */
export function autoHepName(node: string): string {
  const name = `${node}-${SUFFIX}`;
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(name).digest('base64url').replace(/[-_.]/g, '');
  return `${hash}-${SUFFIX}`.toLowerCase().slice(0, MAX_NAME);
}

export type Obj = Record<string, unknown>;

/** The HEP a node's report asks for, validated as any manifest is; an Error when it cannot be one. */
export function desiredHep(report: InterfacesReport): HostEndpoint | Error {
  const expectedIPs = reportedAddresses(report);
  // interfaceName "*" needs no expectedIPs to be valid, but a node with no address to report
  // gets none written: its HEP would govern every interface while naming no address, and a
  // policy selecting it would match nothing for the node as a peer. Calico's controller skips
  // such nodes too.
  if (expectedIPs.length === 0) return new Error('the report lists no address that counts');
  const raw = {
    apiVersion: API_VERSION,
    kind: 'HostEndpoint',
    metadata: { name: autoHepName(report.node), labels: { ...report.labels, [CREATED_BY_LABEL]: CREATED_BY_OUTPOST } },
    spec: { node: report.node, interfaceName: '*', expectedIPs, profiles: [DEFAULT_ALLOW_PROFILE] },
  };
  const v = validateResource(raw, `auto host endpoint of node ${report.node}`);
  if (!v.ok) return new Error(v.errors.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`).join('; '));
  return v.resource as HostEndpoint;
}

/** True when the stored object carries outpost's created-by marker. */
export function isOutposts(object: Obj): boolean {
  const labels = (object['metadata'] as Obj | undefined)?.['labels'] as Obj | undefined;
  return labels?.[CREATED_BY_LABEL] === CREATED_BY_OUTPOST;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a).filter((k) => (a as Obj)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Obj)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Obj)[k], (b as Obj)[k]));
}

/** True when the stored object already says what `want` says (labels and the whole spec). */
function sameHep(stored: Obj, want: HostEndpoint): boolean {
  const meta = (stored['metadata'] as Obj | undefined) ?? {};
  return sameJson(meta['labels'] ?? {}, want.metadata.labels ?? {}) && sameJson(stored['spec'] ?? {}, want.spec ?? {});
}

export type Step =
  | { readonly do: 'create'; readonly hep: HostEndpoint }
  | { readonly do: 'update'; readonly hep: HostEndpoint }
  | { readonly do: 'delete' }
  | { readonly do: 'nothing' }
  | { readonly do: 'refuse'; readonly reason: string };

/**
 * What brings the datastore to `want` (undefined: the node is gone) from `stored` (undefined:
 * no resource of that name). Never a write over a HEP outpost did not create, never a write
 * that would store what is stored.
 */
export function nextStep(stored: Obj | undefined, want: HostEndpoint | undefined, name: string): Step {
  if (stored === undefined) return want ? { do: 'create', hep: want } : { do: 'nothing' };
  if (!isOutposts(stored)) {
    const by = ((stored['metadata'] as Obj | undefined)?.['labels'] as Obj | undefined)?.[CREATED_BY_LABEL];
    const whose = typeof by === 'string' ? `created by ${JSON.stringify(by)}` : `without the label ${CREATED_BY_LABEL}: ${CREATED_BY_OUTPOST}`;
    return { do: 'refuse', reason: `HostEndpoint ${name} exists ${whose}; outpost changes and deletes only the host endpoints it created (rename or delete that one to let outpost manage it)` };
  }
  if (!want) return { do: 'delete' };
  return sameHep(stored, want) ? { do: 'nothing' } : { do: 'update', hep: want };
}
