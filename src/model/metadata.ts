// ObjectMeta and the Calico rules for names, labels and annotations. Each kind picks its
// name rule. Every field of Kubernetes' ObjectMeta is known; any other key is unknown (a
// typo such as `lables:` is refused in a manifest, see decode.ts).
import * as v from 'valibot';
import {
  SUBDOMAIN_RE,
  boolSchema,
  messageFor,
  noArray,
  obj,
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

const optionalString = (what: string) => v.exactOptional(stringSchema(what));
const stringList = (what: string) => v.array(stringSchema(`${what} entry`), messageFor(`${what} must be a list`));

const OwnerReferenceSchema = obj(
  {
    apiVersion: optionalString('apiVersion'),
    kind: optionalString('kind'),
    name: optionalString('name'),
    uid: optionalString('uid'),
    controller: v.exactOptional(boolSchema('controller')),
    blockOwnerDeletion: v.exactOptional(boolSchema('blockOwnerDeletion')),
  },
  'an owner reference',
);

const ManagedFieldsEntrySchema = obj(
  {
    manager: optionalString('manager'),
    operation: optionalString('operation'),
    apiVersion: optionalString('apiVersion'),
    time: optionalString('time'),
    fieldsType: optionalString('fieldsType'),
    // The field set itself is free-form (FieldsV1 is raw JSON).
    fieldsV1: v.exactOptional(v.unknown()),
    subresource: optionalString('subresource'),
  },
  'a managed fields entry',
);

/** Kubernetes ObjectMeta: every real field, each kept as written. */
export const metadataSchema = (name: NameRule, forbiddenLabelKeys: readonly string[] = []) =>
  noArray(
    v.object(
      {
        name: v.pipe(
          stringSchema('name'),
          v.rawCheck(({ dataset, addIssue }) => {
            if (!dataset.typed) return;
            const problem = dataset.value === '' ? 'name is required' : name.check(dataset.value);
            if (problem) addIssue({ message: problem });
          }),
        ),
        generateName: optionalString('generateName'),
        namespace: optionalString('namespace'),
        selfLink: optionalString('selfLink'),
        uid: optionalString('uid'),
        resourceVersion: optionalString('resourceVersion'),
        generation: v.exactOptional(v.number(messageFor('generation must be a number'))),
        creationTimestamp: optionalString('creationTimestamp'),
        deletionTimestamp: optionalString('deletionTimestamp'),
        deletionGracePeriodSeconds: v.exactOptional(v.number(messageFor('deletionGracePeriodSeconds must be a number'))),
        labels: v.exactOptional(labelsSchema('label', forbiddenLabelKeys)),
        annotations: v.exactOptional(annotationsSchema),
        ownerReferences: v.exactOptional(v.array(OwnerReferenceSchema, messageFor('ownerReferences must be a list'))),
        finalizers: v.exactOptional(stringList('finalizers')),
        managedFields: v.exactOptional(
          v.array(ManagedFieldsEntrySchema, messageFor('managedFields must be a list')),
        ),
      },
      objectMessage('metadata'),
    ),
    'metadata',
  );

export type ObjectMeta = v.InferOutput<ReturnType<typeof metadataSchema>>;
