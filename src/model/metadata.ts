// ObjectMeta and the §2.1 rules for names, labels and annotations. Each kind picks its
// name rule; unknown metadata fields are kept so resources can be written back as read.
import * as v from 'valibot';
import {
  SUBDOMAIN_RE,
  messageFor,
  noArray,
  objectMessage,
  qualifiedNameProblem,
  labelValueProblem,
  show,
  stringSchema,
} from './common.ts';

export const labelsSchema = (what: string, forbiddenKeys: readonly string[] = []) =>
  noArray(
    v.record(
      v.pipe(
        v.string(),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const key = dataset.value;
          const problem = qualifiedNameProblem(key);
          if (problem) addIssue({ message: `invalid ${what} key ${show(key)}: ${problem}` });
          if (forbiddenKeys.includes(key))
            addIssue({ message: `${what} key ${show(key)} is reserved and may not be set` });
        }),
      ),
      v.pipe(
        stringSchema(`${what} value`),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const problem = labelValueProblem(dataset.value);
          if (problem) addIssue({ message: `invalid ${what} value ${show(dataset.value)}: ${problem}` });
        }),
      ),
      messageFor(`${what} must be a map of strings`),
    ),
    what === 'label' ? 'labels' : what,
    'a map of strings',
  );

const ANNOTATIONS_MAX_BYTES = 256 * 1024;

export const annotationsSchema = v.pipe(
  noArray(
    v.record(
      v.pipe(
        v.string(),
        // k8s checks annotation keys case-insensitively (upper-case prefixes are accepted).
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const problem = qualifiedNameProblem(dataset.value.toLowerCase());
          if (problem) addIssue({ message: `invalid annotation key ${show(dataset.value)}: ${problem}` });
        }),
      ),
      stringSchema('annotation value'),
      messageFor('annotations must be a map of strings'),
    ),
    'annotations',
    'a map of strings',
  ),
  v.check((a) => {
    const enc = new TextEncoder();
    let total = 0;
    for (const [k, val] of Object.entries(a)) total += enc.encode(k).length + enc.encode(val).length;
    return total <= ANNOTATIONS_MAX_BYTES;
  }, 'annotations total more than 256 KiB'),
);

export type NameRule = { check: (name: string) => string | undefined };

export const subdomainNameRule: NameRule = {
  check: (n) =>
    n.length > 253
      ? `name is ${n.length} characters; at most 253 are allowed`
      : SUBDOMAIN_RE.test(n)
        ? undefined
        : `name ${show(n)} must consist of lower-case alphanumerics, "-" and "." (a DNS-1123 subdomain)`,
};

/**
 * ObjectMeta. Unknown metadata fields are kept (loose) so a resource read from the
 * datastore can be written back unchanged.
 */
export const metadataSchema = (name: NameRule, forbiddenLabelKeys: readonly string[] = []) =>
  noArray(
    v.looseObject(
      {
        name: v.pipe(
          stringSchema('name'),
          v.rawCheck(({ dataset, addIssue }) => {
            if (!dataset.typed) return;
            const problem = dataset.value === '' ? 'name is required' : name.check(dataset.value);
            if (problem) addIssue({ message: problem });
          }),
        ),
        namespace: v.exactOptional(stringSchema('namespace')),
        labels: v.exactOptional(labelsSchema('label', forbiddenLabelKeys)),
        annotations: v.exactOptional(annotationsSchema),
        uid: v.exactOptional(stringSchema('uid')),
        resourceVersion: v.exactOptional(stringSchema('resourceVersion')),
        creationTimestamp: v.exactOptional(stringSchema('creationTimestamp')),
        generation: v.exactOptional(v.number()),
      },
      objectMessage('metadata'),
    ),
    'metadata',
  );

export type ObjectMeta = v.InferOutput<ReturnType<typeof metadataSchema>>;
