/**
 * Bun's YAML parser as the fast path (src/model/yaml-fast.ts) against the yaml package: for
 * every input here, parseManifest gives the same resources, errors and warnings either way, and
 * the fast path declines everything where the two parsers could differ.
 */
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseManifest } from '../../../src/model/manifest.ts';
import { fastYAMLDocuments, scanYAMLText } from '../../../src/model/yaml-fast.ts';
import { VALID_RESOURCES, hostileManifest, mutate, prng, SMALL, structuralManifests, type Rand } from '../../fuzz/hostile-inputs.ts';
import { policySetYaml } from '../../../scripts/bench/policy-set.ts';

const CORPUS = join(import.meta.dir, '../../corpus/manifests');

/** parseManifest with and without the fast path: equal, or the failure shows the input. */
function expectSame(text: string, label = text.slice(0, 200)): void {
  const fast = parseManifest(text, 'f.yaml');
  const slow = parseManifest(text, 'f.yaml', { yamlFast: false });
  expect({ label, ...fast }).toEqual({ label, ...slow });
}

/** The yaml package's documents as plain values (what manifest.ts gets on the slow path). */
function yamlPackageDocs(text: string): unknown[] | 'error' {
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [];
  if (list.some((d) => d.errors.length > 0)) return 'error';
  return list.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown);
}

/** Block-style YAML the way people write it (Bun.YAML.stringify), with comments and quoting varied. */
function blockYaml(docs: readonly unknown[], rand: Rand): string {
  return docs
    .map((d) => {
      let y = Bun.YAML.stringify(d, null, 2);
      if (rand() < 0.3) y = y.replace(/\n/, '\n# a comment: with a colon\n');
      if (rand() < 0.3) y = y.replace(/^(\s*)name: (.*)$/m, (_, s, v) => `${s}"name": ${v}  # trailing`);
      return `${rand() < 0.5 ? '---\n' : ''}${y.trimEnd()}\n`;
    })
    .join(rand() < 0.5 ? '---\n' : '\n---\n');
}

/** A random small edit of the text: what a typo, a merge or an attacker does to a file. */
function editText(text: string, rand: Rand): string {
  const lines = text.split('\n');
  const at = Math.floor(rand() * lines.length);
  const line = lines[at] ?? '';
  const snippets = [': ', ' #', '"', "'", '- ', '[', ']', '{', '}', ',', '&a ', '*a', '!!str ', '? ', '|', '>', '\t', '---', '...', '<<: ', '-0x1', '.inf', ' ', '  ', '\\', '%'];
  switch (Math.floor(rand() * 6)) {
    case 0: lines.splice(at, 0, line); break; // a duplicated line: duplicate keys
    case 1: lines.splice(at, 1); break;
    case 2: lines[at] = `  ${line}`; break;
    case 3: lines[at] = line.replace(/^ {2}/, ''); break;
    case 4: {
      const p = Math.floor(rand() * (line.length + 1));
      lines[at] = line.slice(0, p) + snippets[Math.floor(rand() * snippets.length)] + line.slice(p);
      break;
    }
    default: lines.splice(at, 0, `${line.match(/^\s*/)?.[0] ?? ''}${['metadata: {name: x}', 'name: dup', 'spec:', 'kind: Tier', 'x: |', '  free: text', 'k: -0o7'][Math.floor(rand() * 7)]}`);
  }
  return lines.join('\n');
}

describe('YAML fast path (Bun.YAML) against the yaml package', () => {
  test('the corpus and the benchmark policy set take the fast path and decode identically', () => {
    const texts = readdirSync(CORPUS).filter((f) => /\.ya?ml$/.test(f)).map((f) => readFileSync(join(CORPUS, f), 'utf8'));
    texts.push(policySetYaml({ policies: 20, peers: 30, sets: 5 }));
    for (const text of texts) {
      expect(fastYAMLDocuments(text)).toBeDefined();
      expectSame(text);
    }
  });

  test('generated block-style manifests, and random edits of them, decode identically', () => {
    const rand = prng(1201);
    let fastTaken = 0;
    let declined = 0;
    for (let i = 0; i < 600; i++) {
      const docs = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => (rand() < 0.7 ? VALID_RESOURCES[Math.floor(rand() * VALID_RESOURCES.length)] : mutate(VALID_RESOURCES[Math.floor(rand() * VALID_RESOURCES.length)], rand)));
      let text = blockYaml(docs, rand);
      for (let e = Math.floor(rand() * 3); e > 0; e--) text = editText(text, rand);
      if (fastYAMLDocuments(text)) fastTaken++;
      else declined++;
      expectSame(text, `case ${i}: ${text}`);
    }
    // Both paths are exercised: most clean files go fast, edited ones often decline.
    expect(fastTaken).toBeGreaterThan(100);
    expect(declined).toBeGreaterThan(50);
  });

  test('the fuzz corpus of hostile manifests decodes identically', () => {
    const rand = prng(77);
    for (let i = 0; i < 300; i++) expectSame(hostileManifest(rand, SMALL), `hostile ${i}`);
    for (const { name, text } of structuralManifests({ ...SMALL, depth: 2_000, items: 2_000 })) expectSame(text, name);
  });

  test('where the fast path is taken, its values are exactly the yaml package values', () => {
    const cases = [
      'a: 1\n---\nb: [1, 2, {c: d}]\n', '---\na: 1\n', 'a: 1\n---\n', '# only a comment\n', '', '---\n', '- a\n- b\n',
      'a: |\n  x\n  y: z\nb: >-\n  folded\n  text\n', 'a:\n  - |\n    x\n  - y\n', 'k: "a: b # c"\nl: \'it\'\'s\'\n',
      'a: b\n  c\nd: e\n', 'v: [0x1F, 0o17, 1e3, .5, +12, 1_000, yes, ~, Null, .inf, -.Inf, .NaN, 2024-01-01, "12"]\n',
      '"q": 1\n\'r\': 2\n', 'a: 1\r\nb: [1,\r\n 2]\r\n', 'selector: role == \'gw\' && !has(x) || a in {\'b\', \'c\'}\n',
      'url: http://x:80/y\nlist: [a:b, c]\n', 'a: "multi\n  line"\nb: 2\n', 'k: v # c: d\n', '__proto__: {polluted: true}\nb: 2\n',
      'a: b#c\nd: e # f\n', '- x # y\n- "q" # r\n- \'s\'\n', 'a#b: 1\n', 'k:  # only a comment\n', 'a: x\n  # indented comment\nb: y\n',
    ];
    for (const text of cases) {
      const fast = fastYAMLDocuments(text);
      if (fast) expect({ text, docs: fast }).toEqual({ text, docs: yamlPackageDocs(text) as unknown[] });
      expectSame(text);
    }
  });

  test('duplicate keys anywhere are left to the yaml package, which names them with their position', () => {
    const dups = [
      'kind: Tier\nkind: Tier\n',
      'metadata:\n  name: a\n  name: b\n',
      'metadata: {name: a, name: b}\n',
      '{"kind": "a", "kind": "b"}\n---\nx: 1\n',
      'spec:\n  ingress:\n    - action: Allow\n      action: Deny\n',
      '"kind": Tier\nkind: Tier\n',
      'a: 1\n---\nb: 1\nb: 2\n',
    ];
    for (const text of dups) {
      expect(fastYAMLDocuments(text)).toBeUndefined();
      expectSame(text);
      expect(parseManifest(text, 'f.yaml').errors.map((e) => e.message).join()).toMatch(/(YAML|JSON) error at line \d+, column \d+: .*duplicate key/);
    }
    // The same key in two documents, or in two objects, is no duplicate.
    expect(fastYAMLDocuments('kind: a\n---\nkind: b\n')).toEqual([{ kind: 'a' }, { kind: 'b' }]);
    expect(fastYAMLDocuments('a: {k: 1}\nb: {k: 2}\n')).toEqual([{ a: { k: 1 }, b: { k: 2 } }]);
  });

  test('anchors, aliases, merge keys, tags, directives and odd keys are left to the yaml package', () => {
    for (const text of [
      'a: &x {k: 1}\nb: *x\n', 'a: &s v\nb: *s\n', 'b: {<<: {k: 1}}\n', 'a: !!int "3"\n', 'a: !custom x\n', '%YAML 1.2\n---\na: 1\n',
      'a: 1\n...\n', '? a\n: 1\n', '1: a\n', 'null: 1\n', '~: 1\n', 'a: -0x1\n', 'a: +0o7\n', '\ufeffa: 1\n', 'a: [1, 2\n', 'a:\n\tb: 1\n',
      '"a\\tb": 1\n', '--- {a: 1}\n', '- &a [1]\n- *a\n',
    ]) {
      expect({ text, fast: fastYAMLDocuments(text) }).toEqual({ text, fast: undefined });
      expectSame(text);
    }
  });

  test('an alias bomb is refused by the yaml path with the same message, without expanding it', () => {
    let bomb = 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: bomb}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 9; i++) bomb += `a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]\n`;
    expect(scanYAMLText(bomb)).toBeUndefined();
    const r = parseManifest(bomb, 'f.yaml');
    expect(r.errors.map((e) => e.message)).toEqual(['YAML error: aliases expand to more than 100 nodes (limit; "billion laughs")']);
  });

  test('syntax errors keep the yaml package message with line and column', () => {
    const r = parseManifest('apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: [x\n', 'f.yaml');
    expect(r.errors[0]?.message).toMatch(/^YAML syntax error at line \d+, column \d+: /);
  });

  test('too deep or too large values are left to the yaml path and reported as before', () => {
    const deep = `a: ${'['.repeat(70)}${']'.repeat(70)}\n`;
    expect(fastYAMLDocuments(deep)).toBeUndefined();
    expectSame(deep);
    const wide = `a: [${Array.from({ length: 100_001 }, () => '1').join(', ')}]\n`;
    expect(fastYAMLDocuments(wide)).toBeUndefined();
    expectSame(wide, 'a list of 100,001 entries');
  });
});
