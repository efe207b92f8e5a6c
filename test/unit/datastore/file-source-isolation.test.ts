/**
 * The folder datastore under hostile and unlucky input: one bad file never stalls the others and
 * never loses an edit; a file rewritten in place is not loaded half-written; symbolic links.
 * Polls are driven by hand with a fake clock (no timing assertions).
 */
import { afterEach, beforeEach, describe, expect, mock, test } from 'bun:test';
import { mkdir, mkdtemp, rm, symlink, truncate, unlink, writeFile, appendFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as manifest from '../../../src/model/manifest.ts';
import { FileResourceSource } from '../../../src/datastore/file-source.ts';

// A parser that throws for one marked file, whatever D's parser does with hostile input today:
// the folder source must survive a throw from it.
const realParse = manifest.parseManifest;
mock.module('../../../src/model/manifest.ts', () => ({
  ...manifest,
  parseManifest: (text: string, source: string) => {
    if (text.includes('#THROW')) throw new RangeError('Maximum call stack size exceeded.');
    return realParse(text, source);
  },
}));

const gnp = (name: string, port: number) =>
  `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: ${name}}\nspec: {selector: all(), ingress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]}\n`;
const ports = (src: FileResourceSource) =>
  Object.fromEntries(
    src
      .current()
      .filter((r) => r.kind === 'GlobalNetworkPolicy')
      .map((r) => [r.metadata.name, (r.spec as { ingress?: { destination?: { ports?: unknown[] } }[] }).ingress?.[0]?.destination?.ports?.[0]]),
  );

let dir: string;
let clock = 0;
const fake = { now: () => clock, sleep: async (ms: number) => void (clock += ms) };
let tick = 1_000_000;
/** Writes with a distinct mtime, so every write is a new signature whatever the clock's granularity. */
async function write(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  tick += 10;
  await utimes(path, tick, tick);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-fs-iso-'));
  clock = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('one bad file never stalls the others', () => {
  test('a file whose parser throws (sorted after the edited one): the edit is applied and reported, the bad file is its own error', async () => {
    await write(join(dir, 'a.yaml'), gnp('web', 80));
    const src = new FileResourceSource([dir]);
    await src.load();
    await write(join(dir, 'z.yaml'), `#THROW\n${gnp('evil', 1)}`);
    await write(join(dir, 'a.yaml'), gnp('web', 443));
    const r = await src.load();
    expect(r.changed).toBe(true);
    expect(ports(src)).toEqual({ web: 443 });
    expect(r.errors.map((e) => [e.source, e.message])).toEqual([[join(dir, 'z.yaml'), 'cannot be read as manifests: Maximum call stack size exceeded.']]);
    expect(r.unenforced).toEqual([{ source: join(dir, 'z.yaml'), kind: 'file', name: join(dir, 'z.yaml') }]);
    // Fixed: picked up on the next read.
    await write(join(dir, 'z.yaml'), gnp('evil', 2));
    expect((await src.load()).changed).toBe(true);
    expect(ports(src)).toEqual({ web: 443, evil: 2 });
  });

  test('a bad file that is removed: the edits made meanwhile are in force and nothing is lost', async () => {
    await write(join(dir, 'a.yaml'), gnp('web', 80));
    const src = new FileResourceSource([dir]);
    await src.load();
    // The input: nested 200k deep (throws in the parser of the day, or is refused).
    await write(join(dir, 'z.json'), `${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    await write(join(dir, 'a.yaml'), gnp('web', 443));
    const r1 = await src.load();
    expect(r1.changed).toBe(true);
    expect(r1.errors.map((e) => e.source)).toEqual([join(dir, 'z.json')]);
    await unlink(join(dir, 'z.json'));
    await write(join(dir, 'a.yaml'), gnp('web', 8443));
    expect((await src.load()).changed).toBe(true);
    expect(ports(src)).toEqual({ web: 8443 });
  });

  test('a file that was valid and now throws keeps what it last held; reported once, not on every poll', async () => {
    await write(join(dir, 'p.yaml'), gnp('web', 80));
    const src = new FileResourceSource([dir]);
    await src.load();
    await write(join(dir, 'p.yaml'), `#THROW\n${gnp('web', 1)}`);
    const r = await src.load();
    expect(r.errors.map((e) => e.message)).toEqual(['cannot be read as manifests: Maximum call stack size exceeded.']);
    expect(r.unenforced).toEqual([]);
    expect(ports(src)).toEqual({ web: 80 });
    const again = await src.poll();
    expect(again.errors).toEqual([]);
  });

  test('a file over the byte cap is refused unread; the others load', async () => {
    await write(join(dir, 'a.yaml'), gnp('web', 80));
    await write(join(dir, 'big.yaml'), `${gnp('big', 1)}#${'x'.repeat(5000)}\n`);
    const src = new FileResourceSource([dir], undefined, { maxFileBytes: 4096 });
    const r = await src.load();
    expect(ports(src)).toEqual({ web: 80 });
    expect(r.errors.map((e) => e.message)).toEqual([expect.stringContaining('over the 4096-byte limit; not read')]);
  });

  test('one path that cannot be read does not stop the others from loading', async () => {
    await write(join(dir, 'a.yaml'), gnp('web', 80));
    const src = new FileResourceSource([join(dir, 'missing'), dir]);
    const r = await src.load();
    expect(r.fatal).toContain('missing');
    expect(ports(src)).toEqual({ web: 80 });
  });
});

describe('consistent reads (quiet period, fake clock)', () => {
  test('a file truncated and rewritten slowly in place is never loaded half-written', async () => {
    const f = join(dir, 'p.yaml');
    await write(f, gnp('web', 80) + gnp('other', 22).replace(/^/, '---\n'));
    const src = new FileResourceSource([dir], undefined, { quietMs: 300, ...fake });
    await src.load();
    expect(ports(src)).toEqual({ web: 80, other: 22 });
    // truncate, then the new text in small pieces, a poll (100 ms apart) after each piece.
    await truncate(f, 0);
    const text = gnp('web', 443) + gnp('other', 22).replace(/^/, '---\n');
    const seen: unknown[] = [];
    for (let i = 0; i < text.length; i += 40) {
      await appendFile(f, text.slice(i, i + 40));
      tick += 10;
      await utimes(f, tick, tick);
      clock += 100;
      const r = await src.poll();
      expect(r.errors).toEqual([]);
      seen.push(ports(src));
    }
    // Every poll during the write saw the old state in force, never a part of the new one.
    expect(seen.every((s) => JSON.stringify(s) === JSON.stringify({ web: 80, other: 22 }))).toBe(true);
    clock += 100;
    expect((await src.poll()).changed).toBe(false);
    clock += 300;
    expect((await src.poll()).changed).toBe(true);
    expect(ports(src)).toEqual({ web: 443, other: 22 });
  });

  test('an empty file (truncated, writer paused less than the quiet period) is not loaded', async () => {
    const f = join(dir, 'p.yaml');
    await write(f, gnp('web', 80));
    const src = new FileResourceSource([dir], undefined, { quietMs: 300, ...fake });
    await src.load();
    await truncate(f, 0);
    clock += 250;
    expect((await src.poll()).changed).toBe(false);
    clock += 250;
    await write(f, gnp('web', 443));
    expect((await src.poll()).changed).toBe(false);
    expect(ports(src)).toEqual({ web: 80 });
    clock += 300;
    expect((await src.poll()).changed).toBe(true);
    expect(ports(src)).toEqual({ web: 443 });
  });

  test('a removed file stays in force until it has been gone for the quiet period (rm, then cp)', async () => {
    await write(join(dir, 'a.yaml'), gnp('web', 80));
    const src = new FileResourceSource([dir], undefined, { quietMs: 300, ...fake });
    await src.load();
    await unlink(join(dir, 'a.yaml'));
    clock += 100;
    expect((await src.poll()).changed).toBe(false);
    expect(ports(src)).toEqual({ web: 80 });
    clock += 300;
    expect((await src.poll()).changed).toBe(true);
    expect(ports(src)).toEqual({});
  });

  test('load() at start waits for a settled file; a file that never settles is reported, not loaded', async () => {
    await write(join(dir, 'a.yaml'), gnp('web', 80));
    await write(join(dir, 'b.yaml'), gnp('busy', 1));
    let n = 0;
    const src = new FileResourceSource([dir], undefined, {
      quietMs: 300,
      settleMs: 2000,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
        await write(join(dir, 'b.yaml'), gnp('busy', ++n + 1));
      },
    });
    const r = await src.load();
    expect(ports(src)).toEqual({ web: 80 });
    expect(r.errors.map((e) => e.source)).toEqual([join(dir, 'b.yaml')]);
    expect(r.unenforced.map((u) => u.why)).toEqual(['is still being written']);
  });
});

describe('symbolic links', () => {
  test('a linked file and a linked folder are followed; a link loop ends', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'outpost-fs-iso-out-'));
    try {
      await write(join(outside, 'real.yaml'), gnp('linked', 80));
      await mkdir(join(outside, 'sub'));
      await write(join(outside, 'sub', 'inner.yaml'), gnp('inner', 22));
      await symlink(join(outside, 'real.yaml'), join(dir, 'policy.yaml'));
      await symlink(join(outside, 'sub'), join(dir, 'shared'));
      await symlink(dir, join(dir, 'loop'));
      const src = new FileResourceSource([dir]);
      const r = await src.load();
      expect(r.errors).toEqual([]);
      expect(ports(src)).toEqual({ linked: 80, inner: 22 });
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  test('a dangling link is reported once; what it last held stays in force; a new target is followed', async () => {
    await write(join(dir, 'target-a.txt'), gnp('web', 80));
    await symlink(join(dir, 'target-a.txt'), join(dir, 'policy.yaml'));
    const src = new FileResourceSource([dir]);
    await src.load();
    expect(ports(src)).toEqual({ web: 80 });
    await unlink(join(dir, 'target-a.txt'));
    const r = await src.load();
    expect(r.errors.map((e) => e.message)).toEqual([expect.stringContaining('dangling symbolic link to')]);
    expect(ports(src)).toEqual({ web: 80 });
    expect((await src.poll()).errors).toEqual([]);
    // The link swapped to a new target (as a ConfigMap update does).
    await write(join(dir, 'target-b.txt'), gnp('web', 443));
    await unlink(join(dir, 'policy.yaml'));
    await symlink(join(dir, 'target-b.txt'), join(dir, 'policy.yaml'));
    expect((await src.load()).changed).toBe(true);
    expect(ports(src)).toEqual({ web: 443 });
  });
});
