/** A last-valid record that could not be written (full or read-only state dir) is retried on every pass. */
import { afterEach, beforeEach, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileResourceSource, type LastGoodMemory } from '../../../src/datastore/file-source.ts';
import type { Resource } from '../../../src/model/resource.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-lastgood-retry-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a failed save is reported, then retried on the next pass without any change to the file', async () => {
  const saved = new Map<string, ReadonlyMap<string, Resource>>();
  let full = true;
  const memory: LastGoodMemory = {
    load: () => new Map(),
    save: (file, resources) => {
      if (full) throw new Error('database or disk is full');
      saved.set(file, resources);
    },
    retain: () => undefined,
  };
  const file = join(dir, 'hep.yaml');
  await writeFile(file, 'apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: gw-eth1}\nspec: {node: gw, interfaceName: eth1}\n');
  const src = new FileResourceSource([dir], memory);
  const first = await src.load();
  expect(first.errors.map((e) => e.message).join()).toContain('database or disk is full');
  expect(saved.size).toBe(0);

  full = false; // space returns; the file itself does not change
  const second = await src.load();
  expect(second.errors).toEqual([]);
  expect([...(saved.get(file)?.keys() ?? [])]).toEqual(['HostEndpoint/gw-eth1']);
});
