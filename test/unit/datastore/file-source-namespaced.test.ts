/** The folder datastore with NetworkSets: namespaced keys, and the last valid version of one kept per namespace. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileResourceSource } from '../../../src/datastore/file-source.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-fs-ns-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const netset = (ns: string | undefined, nets: string) => `apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: partners${ns ? `, namespace: ${ns}` : ''}}
spec: {nets: [${nets}]}
`;
let tick = 1_000_000;
async function write(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  tick += 10; // a distinct mtime, so the poll sees every write
  await utimes(path, tick, tick);
}
const view = (src: FileResourceSource) =>
  src.current().map((r) => `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}:${r.kind === 'NetworkSet' ? (r.spec.nets ?? []).join(',') : ''}`).sort();

describe('folder datastore: NetworkSet', () => {
  test('the same name in two namespaces is two resources; no namespace means "default"', async () => {
    const f = join(dir, 'a.yaml');
    await write(f, [netset('shop', '198.18.10.0/24'), netset('lab', '198.18.11.0/24'), netset(undefined, '198.18.12.0/24')].join('---\n'));
    const src = new FileResourceSource([f]);
    const r = await src.load();
    expect(r.errors).toEqual([]);
    expect(view(src)).toEqual(['NetworkSet//partners:198.18.12.0/24', 'NetworkSet/lab/partners:198.18.11.0/24', 'NetworkSet/shop/partners:198.18.10.0/24']);
  });

  test('one that turns invalid keeps its last valid version; the other namespace takes its new one', async () => {
    const f = join(dir, 'b.yaml');
    await write(f, [netset('shop', '198.18.10.0/24'), netset('lab', '198.18.11.0/24')].join('---\n'));
    const src = new FileResourceSource([f]);
    await src.load();
    await write(f, [netset('shop', 'not-a-cidr'), netset('lab', '198.18.13.0/24')].join('---\n'));
    const r = await src.load();
    expect(r.errors.map((e) => e.path)).toEqual(['spec.nets[0]']);
    expect(view(src)).toEqual(['NetworkSet/lab/partners:198.18.13.0/24', 'NetworkSet/shop/partners:198.18.10.0/24']);
  });
});
