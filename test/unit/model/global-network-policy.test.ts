// GlobalNetworkPolicy spec constraints and defaulting.
import { describe, expect, test } from 'bun:test';
import { expectError, gnp, isValid, valid, type Obj } from './helpers.ts';
import { defaultPolicyTypes, validateResource, type GlobalNetworkPolicy, type PolicyType } from '../../../src/model/index.ts';

const allow = [{ action: 'Allow' }];
const policy = (spec: Obj) => valid(gnp(spec)) as GlobalNetworkPolicy;

describe('GlobalNetworkPolicy constraints', () => {
  const accepted: [string, Obj][] = [
    ['preDNAT with applyOnForward', { preDNAT: true, applyOnForward: true }],
    ['doNotTrack with applyOnForward', { doNotTrack: true, applyOnForward: true }],
    ['applyOnForward alone', { applyOnForward: true }],
    ['all three false', { preDNAT: false, doNotTrack: false, applyOnForward: false }],
    ['preDNAT with ingress rules', { preDNAT: true, applyOnForward: true, ingress: allow }],
    ['preDNAT with Ingress type', { preDNAT: true, applyOnForward: true, types: ['Ingress'] }],
    ['types Ingress', { types: ['Ingress'] }],
    ['types Egress', { types: ['Egress'] }],
    ['types Ingress and Egress', { types: ['Ingress', 'Egress'] }],
    ['types without matching rules', { ingress: allow, types: ['Egress'] }],
    ['order as float', { order: 10.5 }],
    ['selector', { selector: "role == 'web' && has(env)" }],
    ['serviceAccountSelector and namespaceSelector', { serviceAccountSelector: "a == 'b'", namespaceSelector: 'all()' }],
    ['performanceHints', { performanceHints: ['AssumeNeededOnEveryNode'] }],
    ['1024 ingress rules', { ingress: Array.from({ length: 1024 }, () => ({ action: 'Allow' })) }],
  ];
  const rejected: [string, Obj, string, string][] = [
    ['preDNAT and doNotTrack', { preDNAT: true, doNotTrack: true, applyOnForward: true }, 'spec.preDNAT', 'cannot both be true'],
    ['preDNAT with egress rules', { preDNAT: true, applyOnForward: true, egress: allow }, 'spec.egress', 'cannot have egress rules'],
    ['preDNAT with Egress type', { preDNAT: true, applyOnForward: true, types: ['Egress'] }, 'spec.types', "cannot have type 'Egress'"],
    ['preDNAT with both types', { preDNAT: true, applyOnForward: true, types: ['Ingress', 'Egress'] }, 'spec.types', "type 'Egress'"],
    ['preDNAT without applyOnForward', { preDNAT: true, applyOnForward: false }, 'spec.applyOnForward', 'when preDNAT is true'],
    ['doNotTrack without applyOnForward', { doNotTrack: true }, 'spec.applyOnForward', 'when doNotTrack is true'],
    ['repeated Egress type', { types: ['Egress', 'Egress'] }, 'spec.types[1]', 'duplicate'],
    ['unexpected type', { types: ['unexpected'] }, 'spec.types[0]', 'types entry must be one of Ingress, Egress'],
    ['three types', { types: ['Ingress', 'Egress', 'Ingress'] }, 'spec.types', 'at most 2'],
    ['order as string', { order: '100' }, 'spec.order', 'order must be a number'],
    ['doNotTrack as string', { doNotTrack: 'yes' }, 'spec.doNotTrack', 'true or false'],
    ['global() in selector', { selector: 'global()' }, 'spec.selector', 'global()'],
    ['global() in serviceAccountSelector', { serviceAccountSelector: 'global()' }, 'spec.serviceAccountSelector', 'global()'],
    ['global() in namespaceSelector', { namespaceSelector: 'global()' }, 'spec.namespaceSelector', 'global()'],
    ['invalid selector', { selector: "role == 'web' &&" }, 'spec.selector', 'invalid selector'],
    ['junk performanceHints', { performanceHints: ['Bogus'] }, 'spec.performanceHints[0]', 'AssumeNeededOnEveryNode'],
    ['duplicate performanceHints', { performanceHints: ['AssumeNeededOnEveryNode', 'AssumeNeededOnEveryNode'] }, 'spec.performanceHints[1]', 'duplicate'],
    ['1025 egress rules', { egress: Array.from({ length: 1025 }, () => ({ action: 'Allow' })) }, 'spec.egress', 'at most 1024'],
    ['ingress not a list', { ingress: { action: 'Allow' } }, 'spec.ingress', 'must be a list of rules'],
    ['invalid tier name', { tier: 'Bad_Tier' }, 'spec.tier', 'tier must be a lower-case DNS name'],
  ];
  for (const [name, spec] of accepted) test(`accepts ${name}`, () => void valid(gnp(spec)));
  for (const [name, spec, path, text] of rejected) test(`rejects ${name}`, () => expectError(gnp(spec), path, text));
});

describe('GlobalNetworkPolicy names', () => {
  const cases: [string, boolean][] = [
    ['thing', true],
    ['th.ing', true],
    ['allow-ssh', true],
    ['default.allow-ssh', true],
    ['a'.repeat(253), true],
    ['a'.repeat(254), false],
    ['t.h.i.ng', false],
    ['knp.default.thing', false],
    ['tHiNg', false],
    ['t~!s.h.i.ng', false],
    ['under_score', false],
    ['-leading', false],
  ];
  for (const [name, ok] of cases) {
    test(`${ok ? 'accepts' : 'rejects'} ${name.length > 20 ? `${name.length} characters` : JSON.stringify(name)}`, () => {
      expect(isValid(gnp({}, name))).toBe(ok);
    });
  }
  test('the error names the problem', () => expectError(gnp({}, 't.h.i.ng'), 'metadata.name', 'at most one "."'));
});

describe('GlobalNetworkPolicy defaulting', () => {
  test('tier defaults to "default" and is kept when given', () => {
    expect(policy({}).spec.tier).toBe('default');
    expect(policy({ tier: 'security' }).spec.tier).toBe('security');
  });

  const typeCases: [string, Obj, PolicyType[]][] = [
    ['no rules', {}, ['Ingress']],
    ['ingress only', { ingress: allow }, ['Ingress']],
    ['egress only', { egress: allow }, ['Egress']],
    ['both', { ingress: allow, egress: allow }, ['Ingress', 'Egress']],
    ['empty egress list', { ingress: allow, egress: [] }, ['Ingress']],
  ];
  for (const [name, spec, types] of typeCases) {
    test(`absent types with ${name} → ${types.join('+')}`, () => {
      expect(policy(spec).spec.types).toEqual(types);
      expect(defaultPolicyTypes(spec)).toEqual(types);
    });
  }

  test('explicit types are kept; an explicit [] in a manifest is defaulted as calicoctl does', () => {
    expect(policy({ egress: allow, types: ['Ingress'] }).spec.types).toEqual(['Ingress']);
    expect(policy({ ingress: allow, egress: allow, types: [] }).spec.types).toEqual(['Ingress', 'Egress']);
    expect(policy({ egress: allow, types: [] }).spec.types).toEqual(['Egress']);
  });

  test('a stored policy keeps its types as stored: absent and [] stay empty (Felix: both directions)', () => {
    const stored = (spec: Obj) => {
      const r = validateResource(gnp(spec), 'etcd', { mode: 'stored' });
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
      return (r.resource as GlobalNetworkPolicy).spec.types;
    };
    expect(stored({ ingress: allow, egress: allow })).toBeUndefined();
    expect(stored({ ingress: allow, egress: allow, types: [] })).toEqual([]);
    expect(stored({ egress: allow, types: ['Ingress'] })).toEqual(['Ingress']);
  });

  test('booleans and order are not invented', () => {
    const s = policy({}).spec;
    expect('doNotTrack' in s || 'preDNAT' in s || 'applyOnForward' in s || 'order' in s).toBe(false);
  });
});

test('collects errors from metadata, spec and rules together', () => {
  const raw = gnp({ preDNAT: true, selector: 'global()', egress: [{ action: 'Nope' }] }, 'Bad.Name.x', {
    labels: { 'bad key!': 'v' },
  });
  expectError(raw, 'metadata.name', 'at most one "."');
  expectError(raw, 'metadata.labels["bad key!"]', 'invalid label key');
  expectError(raw, 'spec.selector', 'global()');
  expectError(raw, 'spec.egress[0].action', 'action must be one of');
  expectError(raw, 'spec.egress', 'cannot have egress rules');
  expectError(raw, 'spec.applyOnForward', 'when preDNAT is true');
});
