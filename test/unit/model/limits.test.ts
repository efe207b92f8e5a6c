// Hostile input against the parsers (issue: bounded parsing): each one is refused with an
// ordinary error naming the limit, nothing throws, and the output stays small.
import { describe, expect, test } from 'bun:test';
import { decodeStored } from '../../../src/datastore/calico-layout.ts';
import { formatResourceError, parseManifest, validateResource } from '../../../src/model/index.ts';
import {
  MAX_DEPTH,
  MAX_ERRORS_PER_RESOURCE,
  MAX_MANIFEST_BYTES,
  MAX_STORED_VALUE_BYTES,
  clip,
  manifestSizeProblem,
} from '../../../src/model/limits.ts';
import { parseSelector } from '../../../src/selector/index.ts';
import { gnp } from './helpers.ts';

const ROOT = '/calico/resources/v3/projectcalico.org';
const HEP = { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'a' }, spec: { node: 'n1', interfaceName: 'eth0' } };

/** parseManifest's lines as validate would print them; the call itself must not throw. */
function lines(text: string, source = 'f.yaml'): string[] {
  const r = parseManifest(text, source);
  return r.errors.map(formatResourceError);
}

const deepJSON = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const depthLimit = `nesting deeper than ${MAX_DEPTH} levels (limit)`;

describe('nesting', () => {
  test('a 100k-deep JSON manifest is one error naming the limit', () => {
    const out = lines(deepJSON(100_000), 'deep.json');
    expect(out).toHaveLength(1);
    expect(out[0]).toStartWith('deep.json: JSON error at line 1, column 65: ');
    expect(out[0]).toContain(depthLimit);
  });

  test('a 100k-deep JSON object inside a real resource is refused, not a stack overflow', () => {
    let inner = '{}';
    for (let i = 0; i < 100_000; i++) inner = `{"a":${inner}`;
    inner += '}'.repeat(0);
    const text = `{"apiVersion":"projectcalico.org/v3","kind":"HostEndpoint","metadata":{"name":"a","annotations":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`;
    const out = lines(text, 'deep.json');
    expect(out).toHaveLength(1);
    expect(out[0]).toContain(depthLimit);
    expect(out[0]).toContain('metadata.annotations.a.a');
  });

  test('a 100k-deep YAML manifest (flow style) is refused before it is parsed', () => {
    const text = `apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: p}\nspec: {labelsToApply: ${deepJSON(100_000)}}\n`;
    const out = lines(text);
    expect(out).toHaveLength(1);
    expect(out[0]).toStartWith('f.yaml: YAML error at line 4');
    expect(out[0]).toContain(depthLimit);
  });

  test('a 100k-deep YAML manifest (compact "- - -" sequences) is refused', () => {
    const out = lines(`${'- '.repeat(100_000)}x\n`);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain(depthLimit);
  });

  test('block-style YAML just past the limit is refused after parsing, before toJS', () => {
    let text = '';
    for (let i = 0; i < MAX_DEPTH + 1; i++) text += `${' '.repeat(i)}a:\n`;
    text += `${' '.repeat(MAX_DEPTH + 1)}b: 1\n`;
    const out = lines(text);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain(depthLimit);
  });

  test('a large real-looking YAML file is not mistaken for deep nesting (flow maps, braces in selectors, comments)', () => {
    const doc = (i: number) => `# policy ${i} [see docs
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p${i}, labels: {team: a}, annotations: {note: "[draft", other: 'it''s [x'}}
spec:
  selector: app in {"a", "b"} && has(role)
  ingress:
    - {action: Allow, protocol: TCP, source: {selector: role == 'x'}, destination: {ports: [22, 443]}}
    - action: Deny
description: [draft
`;
    // The last line is a stray top-level key with an unclosed "[": the file is invalid YAML,
    // but the scan must not add those up to a depth error either.
    const good = Array.from({ length: 400 }, (_, i) => doc(i).replace('description: [draft\n', '')).join('---\n');
    const r = parseManifest(good, 'big.yaml');
    expect(r.errors).toEqual([]);
    expect(r.resources).toHaveLength(400);
    const stray = parseManifest(Array.from({ length: 300 }, (_, i) => doc(i)).join('---\n'), 'stray.yaml');
    expect(stray.errors.map((e) => e.message).join('\n')).not.toContain('nesting');
  });

  test('nesting within the limit is still an ordinary resource (fieldsV1 is free-form)', () => {
    let fields: unknown = 1;
    for (let i = 0; i < 40; i++) fields = { f: fields };
    const r = validateResource({ ...HEP, metadata: { name: 'a', managedFields: [{ fieldsV1: fields }] } });
    expect(r.ok).toBe(true);
  });

  test('validateResource refuses a deep value itself (values that come from elsewhere than a file)', () => {
    let v: unknown = 1;
    for (let i = 0; i < 200_000; i++) v = [v];
    const r = validateResource({ ...HEP, spec: { ...HEP.spec, ports: v } }, 'x');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.message)).toEqual([depthLimit]);
  });
});

describe('YAML aliases', () => {
  test('a billion-laughs document is refused naming the alias limit; the other documents still load', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const p = String.fromCharCode(96 + i);
      const c = String.fromCharCode(97 + i);
      levels.push(`${c}: &${c} [${Array(9).fill(`*${p}`).join(',')}]`);
    }
    const text = `${JSON.stringify(HEP)}\n---\n${levels.join('\n')}\n`;
    const r = parseManifest(text, 'bomb.yaml');
    expect(r.resources.map((x) => x.metadata.name)).toEqual(['a']);
    expect(r.errors).toHaveLength(1);
    expect(formatResourceError(r.errors[0]!)).toContain('document 2: aliases expand to more than 100 nodes (limit');
  });

  test('a few aliases are still fine (shared rules)', () => {
    const text = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec:
  ingress:
    - &web {action: Allow, protocol: TCP, destination: {ports: [443]}}
  egress:
    - *web
`;
    const r = parseManifest(text, 'a.yaml');
    expect(r.errors).toEqual([]);
    expect(r.resources).toHaveLength(1);
  });
});

describe('list sizes and the number of problems', () => {
  test('a million invalid ports: one error naming the limit, without validating each port', () => {
    const ports = Array(1_000_000).fill('no such port!');
    const r = validateResource(gnp({ ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports } }] }), 'p.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.message).toBe('list has 1000000 entries; at most 100000 are allowed (limit)');
      expect(r.errors[0]!.path).toBe('spec.ingress[0].destination.ports');
    }
  });

  test('90k invalid ports in a manifest: one error (50 ports per rule), not 90k', () => {
    const ports = JSON.stringify(Array(90_000).fill('bad!'));
    const text = `{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"p"},"spec":{"ingress":[{"action":"Allow","protocol":"TCP","destination":{"ports":${ports}}}]}}`;
    const out = lines(text, 'p.json');
    expect(out).toEqual(["p.json: GlobalNetworkPolicy 'p': spec.ingress[0].destination.ports: ports has 90000 entries; at most 50 are allowed"]);
  });

  test('a list longer than the limit in JSON text is refused by the scan', () => {
    const out = lines(JSON.stringify(Array(100_001).fill(0)), 'l.json');
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('list has more than 100000 entries (limit)');
  });

  test('a YAML list longer than the limit is refused before the parser builds it (flow and block)', () => {
    for (const text of [`a: [${'1,'.repeat(100_001)}1]\n`, `a:\n${'- 1\n'.repeat(100_001)}`]) {
      const out = lines(text);
      expect(out).toHaveLength(1);
      expect(out[0]).toContain('list has more than 100000 entries (limit)');
    }
    // Many short lists add up to more than the limit; each one is within it.
    const many = Array.from({ length: 1_100 }, (_, i) => `k${i}:\n${'  - 1\n'.repeat(100)}`).join('');
    expect(lines(many).join('\n')).not.toContain('limit');
  });

  test('problems per resource are capped, the rest counted', () => {
    const ingress = Array.from({ length: 1000 }, () => ({ action: 'Allow', protocol: 'TCP', destination: { ports: ['bad!'] } }));
    const r = validateResource(gnp({ ingress }), 'p.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toHaveLength(MAX_ERRORS_PER_RESOURCE + 1);
      const last = r.errors[r.errors.length - 1]!;
      expect(last.message).toBe(`… and 980 more problem(s) in this resource (only the first ${MAX_ERRORS_PER_RESOURCE} are listed)`);
      // The count line still names the resource: the folder source keeps its last valid version.
      expect([last.kind, last.name]).toEqual(['GlobalNetworkPolicy', 'test']);
    }
  });

  test('50,000 unknown fields: capped, each long key shortened, no nearest-name search per key', () => {
    const spec: Record<string, unknown> = { node: 'n1', interfaceName: 'eth0' };
    for (let i = 0; i < 50_000; i++) spec[`x${i}${'y'.repeat(200)}`] = 1;
    const r = validateResource({ ...HEP, spec }, 'h.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.length).toBeLessThanOrEqual(MAX_ERRORS_PER_RESOURCE + 1);
      expect(r.errors.at(-1)!.message).toContain('more');
      for (const e of r.errors) expect(formatResourceError(e).length).toBeLessThan(400);
    }
  });
});

describe('sizes', () => {
  test('an 80 MB manifest is refused from its size, without being parsed', () => {
    const text = `kind: GlobalNetworkSet\nspec:\n  nets:\n${'    - 198.18.0.0/24\n'.repeat(Math.ceil((80 * 2 ** 20) / 20))}`;
    expect(text.length).toBeGreaterThan(80 * 2 ** 20);
    const out = lines(text, 'big.yaml');
    expect(out).toEqual(['big.yaml: the file is 80.0 MiB; at most 4 MiB are allowed (limit)']);
  });

  test('the size can be checked from stat alone', () => {
    expect(manifestSizeProblem(MAX_MANIFEST_BYTES)).toBeUndefined();
    expect(manifestSizeProblem(MAX_MANIFEST_BYTES + 1)).toContain('at most 4 MiB are allowed (limit)');
  });

  test('an etcd value above 1.5 MiB is refused before JSON.parse', () => {
    const value = JSON.stringify({ ...HEP, metadata: { name: 'a', annotations: { x: 'y'.repeat(MAX_STORED_VALUE_BYTES) } } });
    const d = decodeStored({ key: `${ROOT}/hostendpoints/a`, value, modRevision: '5' });
    expect(d?.ok).toBe(false);
    if (d && !d.ok) {
      expect(d.error.source).toBe(`${ROOT}/hostendpoints/a`);
      expect(d.error.message).toContain('at most 1.5 MiB are allowed (limit)');
    }
  });

  test('a 200k-deep etcd value is that key\'s error naming the limit', () => {
    const value = `{"kind":"HostEndpoint","spec":${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}}`;
    const d = decodeStored({ key: `${ROOT}/hostendpoints/a`, value, modRevision: '5' });
    expect(d?.ok).toBe(false);
    if (d && !d.ok) {
      expect(d.error.message).toBe(depthLimit);
      expect(d.error.path).toStartWith('spec.a.a');
      expect(d.error.name).toBe('a');
    }
  });
});

describe('selectors', () => {
  test('a 20k-character selector is refused by length and echoed shortened', () => {
    const selector = `a == "${'x'.repeat(20_000)}"`;
    const r = validateResource(gnp({ selector }), 'p.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.message)).toEqual([`selector is ${selector.length} characters; at most 1024 are allowed (limit)`]);
    }
  });

  test('a long bad value is echoed as its start and its length', () => {
    const r = validateResource(gnp({ ingress: [{ action: 'Allow', source: { notNets: ['z'.repeat(20_000)] } }] }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const msg = r.errors[0]!.message;
      expect(msg).toContain('… (20000 characters)');
      expect(msg.length).toBeLessThan(200);
    }
  });

  test('deep parentheses are a syntax error, not a stack overflow', () => {
    const r = parseSelector(`${'('.repeat(30_000)}a == "b"${')'.repeat(30_000)}`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe('parentheses are nested more than 256 deep');
  });

  test('a selector longer than the parser\'s limit is refused without being parsed', () => {
    const r = parseSelector(`a in {${'"x",'.repeat(100_000)}}`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('at most 65536 are parsed (limit)');
  });
});

describe('duplicate keys', () => {
  const yaml = 'apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata:\n  name: a\n  name: b\n';
  const json = '{"apiVersion": "projectcalico.org/v3", "kind": "Profile",\n "metadata": {"name": "a", "name": "b"}}';

  test('a duplicate key in JSON is refused, naming the key and where it is', () => {
    expect(lines(json, 'p.json')).toEqual([
      'p.json: JSON error at line 2, column 28: metadata.name: duplicate key "name": a key may appear only once in an object',
    ]);
  });

  test('YAML says the same thing', () => {
    expect(lines(yaml, 'p.yaml')).toEqual([
      'p.yaml: YAML error at line 5, column 3: metadata.name: duplicate key "name": a key may appear only once in an object',
    ]);
  });

  test('keys inside strings and equal values are not duplicates', () => {
    const r = parseManifest('{"apiVersion":"projectcalico.org/v3","kind":"Profile","metadata":{"name":"a","annotations":{"k":"\\"name\\"","name":"name"}}}', 'p.json');
    expect(r.errors).toEqual([]);
  });
});

describe("a policy's tier is a Tier name", () => {
  test('63 characters are accepted, 64 and the 253 that used to pass are refused', () => {
    expect(validateResource(gnp({ tier: 't'.repeat(63) })).ok).toBe(true);
    for (const tier of ['t'.repeat(64), `${'t'.repeat(63)}.${'u'.repeat(63)}.${'v'.repeat(63)}.${'w'.repeat(61)}`]) {
      const r = validateResource(gnp({ tier }));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors[0]!.path).toBe('spec.tier');
    }
  });

  test('a dotted tier (a DNS subdomain but not a Tier name) is refused', () => {
    const r = validateResource(gnp({ tier: 'a.b' }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]!.message).toContain('tier must be a lower-case DNS name of a Tier');
  });
});

describe('an etcd value whose name is not its key', () => {
  const kv = (key: string, value: unknown) => decodeStored({ key: `${ROOT}/${key}`, value: JSON.stringify(value), modRevision: '7' });

  test('is read under the key\'s name, with a warning', () => {
    const d = kv('hostendpoints/a', { ...HEP, metadata: { name: 'victim' } });
    expect(d?.ok).toBe(true);
    if (d?.ok) {
      expect(d.name).toBe('a');
      expect((d.object['metadata'] as { name: string }).name).toBe('a');
      expect(d.warnings.map((w) => w.message)).toEqual(['the stored value names "victim", its key "a": read as "a", after the key (as Calico does)']);
      const r = validateResource(d.object, 'k', { mode: 'stored' });
      expect(r.ok && r.resource.metadata.name).toBe('a');
    }
  });

  test('a policy too, also when its projectcalico.org/metadata annotation names another', () => {
    const pol = (name: string, annotated?: string) => ({
      kind: 'GlobalNetworkPolicy',
      apiVersion: 'projectcalico.org/v3',
      metadata: { name, ...(annotated ? { annotations: { 'projectcalico.org/metadata': JSON.stringify({ name: annotated }) } } : {}) },
      spec: { tier: 'default', selector: 'all()' },
    });
    const plain = kv('globalnetworkpolicies/allow-ssh', pol('deny-all', 'deny-all'));
    expect(plain?.ok && [plain.name, plain.warnings.length]).toEqual(['allow-ssh', 1]);
    // ≤3.31 layouts keep working: the default. prefix of the key is not a mismatch.
    const legacy = kv('globalnetworkpolicies/default.allow-ssh', pol('default.allow-ssh', 'allow-ssh'));
    expect(legacy?.ok && [legacy.name, legacy.warnings.length]).toEqual(['allow-ssh', 0]);
    const old = kv('globalnetworkpolicies/default.allow-ssh', pol('default.allow-ssh'));
    expect(old?.ok && [old.name, old.warnings.length]).toEqual(['allow-ssh', 0]);
    const lied = kv('globalnetworkpolicies/default.allow-ssh', pol('default.other', 'other'));
    expect(lied?.ok && [lied.name, lied.warnings.length]).toEqual(['allow-ssh', 1]);
  });
});

test('clip keeps short strings and shortens long ones', () => {
  expect(clip('abc')).toBe('abc');
  expect(clip('x'.repeat(100))).toBe(`${'x'.repeat(80)}… (100 characters)`);
});
