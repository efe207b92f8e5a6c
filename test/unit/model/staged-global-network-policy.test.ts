// StagedGlobalNetworkPolicy: decoded like a GlobalNetworkPolicy plus stagedAction; a staged
// delete carries nothing but its tier; typos and hostile sizes are refused with the field named.
import { describe, expect, test } from 'bun:test';
import { errorsOf, resource, valid, type Obj } from './helpers.ts';
import { formatResourceError, parseManifest, validateResource, type StagedGlobalNetworkPolicy } from '../../../src/model/index.ts';
import { decodeStored, encodeForStorage, resourceKey as etcdKey } from '../../../src/datastore/calico-layout.ts';

const sgnp = (spec: Obj, name = 'staged-web', metadata: Obj = {}) => resource('StagedGlobalNetworkPolicy', name, spec, metadata);
const staged = (spec: Obj, name?: string) => valid(sgnp(spec, name)) as StagedGlobalNetworkPolicy;
const messages = (raw: unknown) => errorsOf(raw).map((e) => `${e.path}: ${e.message}`);

describe('StagedGlobalNetworkPolicy', () => {
  test('every stagedAction Calico defines is accepted; absent is accepted too', () => {
    for (const a of ['Set', 'Delete', 'Learn', 'Ignore']) expect(staged({ stagedAction: a }).spec.stagedAction).toBe(a as never);
    expect(staged({ selector: 'all()' }).spec.stagedAction).toBeUndefined();
  });

  test('a misspelt stagedAction names the field and the allowed values', () => {
    expect(messages(sgnp({ stagedAction: 'Remove' }))).toEqual(['spec.stagedAction: stagedAction must be one of Set, Delete, Learn, Ignore (got "Remove")']);
    expect(messages(sgnp({ stagedAction: 'set' }))).toEqual(['spec.stagedAction: stagedAction must be one of Set, Delete, Learn, Ignore (got "set")']);
    expect(messages(sgnp({ stagedAction: 7 }))[0]).toStartWith('spec.stagedAction: stagedAction must be one of');
  });

  test('field typos are refused with the nearest name (manifest), dropped with a notice (stored)', () => {
    expect(messages(sgnp({ stagedActon: 'Set' }))).toEqual(['spec.stagedActon: unknown field; did you mean `stagedAction`?']);
    expect(messages(sgnp({ ingres: [] }))).toEqual(['spec.ingres: unknown field; did you mean `ingress`?']);
    const stored = validateResource(sgnp({ stagedActon: 'Set' }), 'etcd', { mode: 'stored' });
    expect(stored.ok).toBe(true);
    expect(stored.notices.map((n) => n.path)).toEqual(['spec.stagedActon']);
  });

  test('the spec is checked as a GlobalNetworkPolicy spec (rules, selectors, cross-field rules)', () => {
    expect(messages(sgnp({ preDNAT: true, doNotTrack: true, applyOnForward: true }))).toEqual(['spec.preDNAT: preDNAT and doNotTrack cannot both be true']);
    expect(messages(sgnp({ selector: "role == 'web" }))[0]).toStartWith('spec.selector:');
    expect(messages(sgnp({ ingress: [{ action: 'Drop' }] }))[0]).toStartWith('spec.ingress[0].action:');
    expect(messages(sgnp({ tier: 'Bad.Tier' }))[0]).toStartWith('spec.tier:');
  });

  test('a staged delete names only its tier: any other spec field is refused', () => {
    expect(staged({ stagedAction: 'Delete', tier: 'default' }).spec.types).toBeUndefined();
    expect(messages(sgnp({ stagedAction: 'Delete', selector: 'all()', order: 5 }))).toEqual([
      'spec.order: must be left out when stagedAction is Delete (a staged delete names only the policy and its tier)',
      'spec.selector: must be left out when stagedAction is Delete (a staged delete names only the policy and its tier)',
    ]);
    // Zero values are what Go would see as empty: accepted.
    expect(staged({ stagedAction: 'Delete', doNotTrack: false, ingress: [] }).spec.stagedAction).toBe('Delete');
  });

  test('types are filled in as calicoctl does, except for a staged delete', () => {
    expect(staged({ egress: [{ action: 'Deny' }] }).spec.types).toEqual(['Egress']);
    expect(staged({ stagedAction: 'Learn', ingress: [{ action: 'Deny' }], egress: [{ action: 'Allow' }] }).spec.types).toEqual(['Ingress', 'Egress']);
  });

  test('names follow the GlobalNetworkPolicy rule', () => {
    expect(staged({}, 'tier1.web').metadata.name).toBe('tier1.web');
    expect(messages(sgnp({}, 'Web'))[0]).toStartWith('metadata.name:');
    expect(messages(sgnp({}, 'a.b.c'))[0]).toStartWith('metadata.name:');
    expect(messages(sgnp({}, 'x'.repeat(254)))).toEqual(['metadata.name: name is 254 characters; at most 253 are allowed']);
  });

  test('huge input is refused with one error naming the limit, never a crash', () => {
    const r = parseManifest(JSON.stringify(sgnp({ ingress: Array.from({ length: 200_000 }, () => ({ action: 'Deny' })) })), 'huge.json');
    expect(r.resources).toEqual([]);
    expect(r.errors.length).toBe(1);
    expect(formatResourceError(r.errors[0]!)).toContain('limit');
    let deep: unknown = 'x';
    for (let i = 0; i < 5000; i++) deep = { a: deep };
    const d = validateResource(sgnp({ ingress: [{ action: 'Deny', metadata: deep }] }));
    expect(d.ok).toBe(false);
  });

  test('in a manifest it is loaded, not skipped', () => {
    const r = parseManifest('apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicyList\nitems:\n- metadata: {name: a}\n  spec: {selector: all()}\n', 'f.yaml');
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.resources.map((x) => `${x.kind}/${x.metadata.name}`)).toEqual(['StagedGlobalNetworkPolicy/a']);
  });

  test("etcd: Calico's key, ≤3.31 default-tier prefix undone on read, written with the tier label and stagedAction first", () => {
    expect(etcdKey('StagedGlobalNetworkPolicy', 'a')).toBe('/calico/resources/v3/projectcalico.org/stagedglobalnetworkpolicies/a');
    const value = JSON.stringify({ kind: 'StagedGlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3', metadata: { name: 'default.a' }, spec: { stagedAction: 'Set', tier: 'default', selector: 'all()' } });
    const d = decodeStored({ key: '/calico/resources/v3/projectcalico.org/stagedglobalnetworkpolicies/default.a', value, modRevision: '7' });
    expect(d?.ok).toBe(true);
    if (!d?.ok) return;
    expect(d.kind).toBe('StagedGlobalNetworkPolicy');
    expect(d.name).toBe('a');
    expect(validateResource(d.object, 'etcd', { mode: 'stored' }).ok).toBe(true);
    const e = encodeForStorage(staged({ stagedAction: 'Delete' }, 'b'), 'create', { uid: 'u', now: new Date(0) });
    expect(e.ok).toBe(true);
    if (!e.ok) return;
    expect(e.key).toBe('/calico/resources/v3/projectcalico.org/stagedglobalnetworkpolicies/b');
    expect(e.value).toContain('"spec":{"stagedAction":"Delete","tier":"default"}');
    expect(e.value).toContain('"projectcalico.org/tier":"default"');
  });
});
