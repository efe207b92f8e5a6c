/**
 * What a freshly parsed file puts in force, resource by resource: each valid resource as parsed,
 * and for each invalid one its last valid version if the file had one (else nothing, reported as
 * unenforced). Pure, so the rules of "bad input never loses state" can be read in one place,
 * apart from the polling, settling and recording around them (file-source.ts).
 */
import type { parseManifest } from '../model/manifest.ts';
import { resourceKey, type Resource } from '../model/resource.ts';
import { isNamespacedKind } from '../model/namespaced.ts';
import { deepEqual } from '../calc/deep-equal.ts';
import type { ResourceError } from '../model/validate.ts';
import type { HeldBackItem } from '../protocol/held-back.ts';
import { errorsByResource, heldBackReason } from './held-back-list.ts';

export interface Unenforced {
  readonly source: string;
  readonly kind: string;
  readonly name: string;
  /** For kind 'file': why nothing of it is in force (default: it cannot be read as manifests). */
  readonly why?: string;
}

export interface Merged {
  readonly resources: Map<string, Resource>;
  readonly unenforced: Unenforced[];
  readonly held: HeldBackItem[];
}

/** The resourceKey of the resource an error is about (namespaced kinds carry their namespace in the name). */
const errorKey = (e: ResourceError): string => `${e.kind}/${e.name}`;

/**
 * `prev`: what the file held before (this run, or recorded by an earlier one); `before`: the map
 * this run last loaded from it, whose unchanged objects are reused.
 */
export function mergeLastValid(file: string, parsed: ReturnType<typeof parseManifest>, prev: ReadonlyMap<string, Resource> | undefined, before: Map<string, Resource> | undefined): Merged {
  const next = new Map<string, Resource>();
  // An unchanged resource keeps its object: what is computed per object downstream (compiled
  // policies, the renderer's chains) is reused, so editing one policy of a file of 100 costs
  // one policy's work, not 100. Only a map this run parsed (a remembered one validates on
  // first use, which costs more than it saves).
  const reuse = before?.constructor === Map ? before : undefined;
  for (const r of parsed.resources) {
    const key = resourceKey(r);
    const old = reuse?.get(key);
    next.set(key, old !== undefined && deepEqual(old, r) ? old : r);
  }
  const unenforced: Unenforced[] = [];
  const held: HeldBackItem[] = [];
  const loose = parsed.errors.filter((e) => e.kind === undefined || e.name === undefined);
  if (loose.length) held.push({ kind: 'file', name: file, source: file, reason: heldBackReason(loose), lastValidInForce: false });
  const keptByResource = new Map<string, boolean>();
  for (const e of parsed.errors) {
    if (e.kind === undefined || e.name === undefined) {
      if (!prev) unenforced.push({ source: file, kind: 'file', name: file });
      continue;
    }
    // An error names kind and name but no namespace: a namespaced kind's last valid versions
    // are those of that kind and name in any namespace that the new text no longer holds.
    const keys = isNamespacedKind(e.kind)
      ? [...(prev?.entries() ?? [])].filter(([, r]) => r.kind === e.kind && r.metadata.name === e.name).map(([k]) => k)
      : [errorKey(e)];
    let kept = false;
    for (const key of keys) {
      const last = prev?.get(key);
      if (last && !next.has(key)) next.set(key, last);
      kept ||= last !== undefined || next.has(key);
    }
    if (!kept && !unenforced.some((u) => u.kind === e.kind && u.name === e.name)) unenforced.push({ source: file, kind: e.kind, name: e.name });
    keptByResource.set(errorKey(e), kept || keptByResource.get(errorKey(e)) === true);
  }
  for (const [k, g] of errorsByResource(parsed.errors)) held.push({ kind: g.kind, name: g.name, source: file, reason: heldBackReason(g.errors), lastValidInForce: keptByResource.get(k) === true });
  return { resources: next, unenforced, held };
}
