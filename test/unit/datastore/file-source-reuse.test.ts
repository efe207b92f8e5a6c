/**
 * A re-read file hands back the previous object of every resource that did not change (what is
 * computed per object downstream is then reused), and a new object for each one that did.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileResourceSource } from '../../../src/datastore/file-source.ts';

const gnp = (name: string, port: number) =>
  `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: ${name}}\nspec: {selector: all(), ingress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]}\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-reuse-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

let tick = 1_000_000;
async function write(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  tick += 10;
  await utimes(path, tick, tick);
}

test('unchanged resources keep their objects across a re-read; changed ones are new and hold the new content', async () => {
  const file = join(dir, 'p.yaml');
  await write(file, [gnp('a', 1), gnp('b', 2), gnp('c', 3)].join('---\n'));
  const src = new FileResourceSource([dir]);
  await src.load();
  const first = new Map(src.current().map((r) => [r.metadata.name, r]));
  await write(file, [gnp('a', 1), gnp('b', 22), gnp('c', 3), gnp('d', 4)].join('---\n'));
  const report = await src.load();
  expect(report.changed).toBe(true);
  const second = new Map(src.current().map((r) => [r.metadata.name, r]));
  expect(second.get('a')).toBe(first.get('a')!);
  expect(second.get('c')).toBe(first.get('c')!);
  expect(second.get('b')).not.toBe(first.get('b')!);
  expect(JSON.stringify(second.get('b')!.spec)).toContain('22');
  expect(second.has('d')).toBe(true);
  // A resource that goes away and comes back equal is a fresh parse, not a stale object.
  await write(file, gnp('a', 5));
  await src.load();
  expect((src.current()[0]!.spec as { ingress: { destination: { ports: number[] } }[] }).ingress[0]!.destination.ports).toEqual([5]);
});
