/**
 * `outpost validate` on hostile files (issue: bounded parsing): every bad file is reported in a
 * bounded number of short lines, the good files still count, and the summary and exit code 1
 * always come out.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/main.ts';
import { loadInput } from '../../src/cli/resource-input.ts';

let dir: string;

const HEP = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth0}
spec: {node: gw, interfaceName: eth0}
`;
const policy = (name: string, spec: string) =>
  `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: ${name}}\nspec: ${spec}\n`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-validate-limits-'));
  const files: Record<string, string> = {
    'a-good.yaml': HEP,
    'b-selector.yaml': policy('long', `{selector: "a == '${'x'.repeat(20_000)}'"}`),
    'c-ports.yaml': policy('ports', `{ingress: [{action: Allow, protocol: TCP, destination: {ports: [${Array(300_000).fill('bad!').join(',')}]}}]}`),
    // 300 invalid policies in one file: more lines than validate prints per file.
    'd-many.yaml': Array.from({ length: 300 }, (_, i) => policy(`p${i}`, '{ingress: [{action: Maybe}]}')).join('---\n'),
    'e-deep.json': `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    'f-dup.json': '{"apiVersion": "projectcalico.org/v3", "kind": "Tier", "kind": "Profile", "metadata": {"name": "x"}}',
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('validate on hostile files: bounded, short lines; the good file counts; exit 1 with the summary', async () => {
  let out = '';
  let err = '';
  const code = await main(['validate', '-f', dir], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), env: {} });
  expect(code).toBe(1);
  expect(out).toContain('1 valid resource(s), 304 problem(s)');
  const lines = err.trimEnd().split('\n');
  // 1 + 1 + 100 (+ the count line) + 1 + 1: nothing near 300,000 lines.
  expect(lines.length).toBeLessThanOrEqual(110);
  for (const l of lines) expect(l.length - dir.length).toBeLessThan(250);
  expect(err).toContain(`selector is 20007 characters; at most 1024 are allowed (limit)`);
  expect(err).toMatch(/c-ports\.yaml: YAML error at line 4, column \d+: list has more than 100000 entries \(limit\)/);
  expect(err).toContain('d-many.yaml: … and 200 more problem(s) (only the first 100 are printed)');
  expect(err).toContain('e-deep.json: JSON error at line 1, column 65: [0][0][0][0][0][0][0][0][0][0][0][0]…: nesting deeper than 64 levels (limit)');
  expect(err).toContain('f-dup.json: JSON error at line 1, column 56: kind: duplicate key "kind"');
});

test('apply -f input: an 80 MB file is refused from its size without being read; symlinked manifests are read, dangling ones reported', async () => {
  const d = join(dir, 'input');
  await mkdir(d);
  await writeFile(join(dir, 'hep.yaml.src'), HEP);
  await writeFile(join(d, 'big.yaml'), '');
  await truncate(join(d, 'big.yaml'), 80 * 2 ** 20); // sparse: nothing to read but zeros
  await symlink(join(dir, 'hep.yaml.src'), join(d, 'linked.yaml'));
  await symlink(join(dir, 'missing.yaml'), join(d, 'zz-dangling.yaml'));
  const io = { out: () => {}, err: () => {}, env: {} };
  const r = await loadInput([d], false, io);
  expect(r.errors.map((e) => `${e.source}: ${e.message}`)).toEqual([`${join(d, 'big.yaml')}: the file is 80 MiB; at most 4 MiB are allowed (limit)`]);
  expect(r.resources.map((x) => [x.source, x.resource.metadata.name])).toEqual([[join(d, 'linked.yaml'), 'gw-eth0']]);
  expect(r.problems).toEqual([expect.stringContaining(`cannot read ${join(d, 'zz-dangling.yaml')}`)]);
});
