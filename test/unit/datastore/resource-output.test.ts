/** calicoctl's output formats: go-yaml v2 YAML, tabwriter tables, Go float printing. */
import { describe, expect, test } from 'bun:test';
import { formatGet, tabwrite } from '../../../src/cli/resource-output.ts';
import { goFormatG, toGoYAML } from '../../../src/cli/resource-yaml.ts';

describe('toGoYAML', () => {
  test('quotes what would read back as another type, single-quotes indicators, keeps the rest plain', () => {
    expect(toGoYAML({ a: '12', b: 'yes', c: '2026-01-01T00:00:00Z', d: '!has(x)', e: 'a: b', f: '', g: '10.0.0.0/8', h: '9000:9100', i: '1:20', j: "it's", k: ' lead', l: 'tab\there' })).toBe(
      'a: "12"\nb: "yes"\nc: "2026-01-01T00:00:00Z"\nd: \'!has(x)\'\ne: \'a: b\'\nf: ""\ng: 10.0.0.0/8\nh: 9000:9100\ni: "1:20"\nj: it\'s\nk: \' lead\'\nl: "tab\\there"\n',
    );
  });
  test('go-yaml key order, indentless sequences, nested lists, empty collections, numbers', () => {
    expect(toGoYAML({ item10: 1, item9: 2, 'a-b': [1.5, [], {}], Z: { y: [{ k: 'v', j: null }] } })).toBe(
      'Z:\n  "y":\n  - j: null\n    k: v\na-b:\n- 1.5\n- []\n- {}\nitem9: 2\nitem10: 1\n',
    );
  });
  test('long scalars fold after column 80 at a single space', () => {
    const sel = Array.from({ length: 12 }, (_, i) => `k${i} == 'v'`).join(' && ');
    const out = toGoYAML({ spec: { selector: sel } });
    const [first, second] = out.split('\n').slice(1);
    expect(first!.length).toBeGreaterThan(80);
    expect(first!.length).toBeLessThan(95);
    expect(second!.startsWith('    ')).toBe(true);
    expect(out.replace(/\n {4}/g, ' ')).toBe(`spec:\n  selector: ${sel}\n`);
  });
});

describe('tables', () => {
  test('tabwriter: minwidth 5, padding 3, last column padded too', () => {
    expect(tabwrite([['NAME', 'X'], ['a-long-name', '']])).toBe('NAME          X    \na-long-name        \n');
  });
  test('fmt %v of floats and the <nil> of an unset *float64', () => {
    expect([goFormatG(1_000_000), goFormatG(123_456), goFormatG(1_234_567), goFormatG(0.5), goFormatG(0.00001)]).toEqual(['1e+06', '123456', '1.234567e+06', '0.5', '1e-05']);
    const out = formatGet({ type: 'list', kind: 'Tier', revision: '5', items: [{ metadata: { name: 't' }, spec: {} }] }, 'ps');
    expect(out).toBe('NAME   ORDER   \nt      <nil>   \n\n');
  });
  test('one table per object when getting by name; a list object for json', () => {
    const objects = [{ kind: 'GlobalNetworkSet' as const, object: { kind: 'GlobalNetworkSet', apiVersion: 'projectcalico.org/v3', metadata: { name: 'a' }, spec: { nets: ['10.0.0.0/8'] } } }];
    expect(formatGet({ type: 'objects', items: [...objects, ...objects] }, 'wide')).toBe('NAME   NETS         \na      10.0.0.0/8   \n\nNAME   NETS         \na      10.0.0.0/8   \n\n');
    expect(formatGet({ type: 'list', kind: 'GlobalNetworkSet', revision: '7', items: [] }, 'json')).toBe(
      '{\n  "kind": "GlobalNetworkSetList",\n  "apiVersion": "projectcalico.org/v3",\n  "metadata": {\n    "resourceVersion": "7"\n  },\n  "items": []\n}',
    );
    expect(formatGet({ type: 'list', kind: 'GlobalNetworkSet', revision: '7', items: [] }, 'yaml')).toBe('apiVersion: projectcalico.org/v3\nitems: []\nkind: GlobalNetworkSetList\nmetadata:\n  resourceVersion: "7"\n');
  });
});
