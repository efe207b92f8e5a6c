/**
 * The folder datastore's quiet period at start: a manifest whose ctime is already older than
 * `quietMs` has stayed unchanged that long, so it is loaded at once (an agent start does not
 * watch files written long before); one that changed since is still watched (the fake-clock tests
 * in file-source-isolation.test.ts).
 */
import { afterEach, beforeEach, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileResourceSource } from '../../../src/datastore/file-source.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-fs-ctime-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

test('a file unchanged for longer than quietMs (by its ctime) is loaded without waiting', async () => {
  await writeFile(join(dir, 'a.yaml'), 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: web}\nspec: {selector: all()}\n');
  await Bun.sleep(150);
  const waits: number[] = [];
  const src = new FileResourceSource([dir], undefined, { quietMs: 100, sleep: async (ms) => void waits.push(ms) });
  const r = await src.load();
  expect(r.errors).toEqual([]);
  expect(src.current().map((x) => x.metadata.name)).toEqual(['web']);
  expect(waits).toEqual([]);
});
