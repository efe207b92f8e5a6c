/**
 * `bun run demo` end to end: the compiled binary in namespaces, real packets. The expected
 * table is written out here again, independently of scripts/demo/scenario.ts, so a change
 * to the demo's story has to be made on purpose in both places, and a kernel that does not
 * do what the table says fails the test (the demo also exits 1 on its own).
 */
import { describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listNamespaces } from '../lab/netns.ts';
import { isRoot } from './harness.ts';

const DEMO = join(import.meta.dir, '../../scripts/demo.ts');

// One letter per step: before, enforced, edited (web HTTPS only), relay down (blocklist edited,
// not yet applied), agents restarted from cache, relay back (blocklist applied).
const EXPECTED: Record<string, string> = {
  'internet → web tcp/80 http': 'AADDDD',
  'internet → web tcp/443 https': 'AAAAAD',
  'internet → web tcp/22 ssh': 'ADDDDD',
  'internet → gw tcp/22 ssh': 'ADDDDD',
  'internet → db tcp/5432 postgres': 'ADDDDD',
  'internet → db ping': 'AAAAAD',
  'admin → gw tcp/22 ssh': 'AAAAAA',
  'admin → web tcp/22 ssh': 'AAAAAA',
  'admin → db tcp/22 ssh': 'AAAAAA',
  'admin → db tcp/5432 postgres': 'ADDDDD',
  'web → db tcp/5432 postgres': 'AAAAAA',
  'web → db tcp/22 ssh': 'ADDDDD',
};

interface Results {
  steps: string[];
  cells: Record<string, ('allowed' | 'denied')[]>;
  problems: string[];
  leftovers: string[];
  work: string;
  prefix: string;
}

const siteNamespaces = (prefix: string) => listNamespaces().filter((ns) => ns.startsWith(`${prefix}-`));

/** Reads a stream into `sink.text` as it arrives. */
async function collect(stream: ReadableStream<Uint8Array>, sink: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) sink.text += decoder.decode(chunk, { stream: true });
}

describe.skipIf(!isRoot)('bun run demo', () => {
  test('the table of real connections is what the policies say at every step, and nothing is left behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-demo-test-'));
    try {
      const file = join(dir, 'results.json');
      const p = Bun.spawn([process.execPath, DEMO, '--results', file], { stdout: 'pipe', stderr: 'pipe' });
      const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      const why = `exit ${code}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
      expect(existsSync(file), why).toBe(true);
      const r = JSON.parse(await readFile(file, 'utf8')) as Results;

      expect(r.problems, why).toEqual([]);
      expect(r.steps).toEqual(['before', 'enforced', 'edited', 'relay-down', 'restarted', 'converged']);
      const got = Object.fromEntries(Object.entries(r.cells).map(([k, v]) => [k, v.map((c) => (c === 'allowed' ? 'A' : 'D')).join('')]));
      expect(got).toEqual(EXPECTED);
      expect(code, why).toBe(0);

      // The agents enforced from their cache in step 5, not from a relay that was still down.
      expect(stdout.match(/in force .* after start \(from cache\)/g)?.length, why).toBe(3);
      expect(r.leftovers).toEqual([]);
      expect(siteNamespaces(r.prefix)).toEqual([]);
      expect(existsSync(r.work)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  test('Ctrl-C in the middle removes the namespaces, processes and work dir', async () => {
    const p = Bun.spawn([process.execPath, DEMO], { stdout: 'pipe', stderr: 'pipe' });
    const out = { text: '' };
    const err = { text: '' };
    const reading = Promise.all([collect(p.stdout, out), collect(p.stderr, err)]);
    const end = Date.now() + 45_000;
    // Step 2 runs the relay and three agents: the most there is to clean up.
    while (!out.text.includes('[2] ') && Date.now() < end && p.exitCode === null) await Bun.sleep(50);
    const site = /site: namespaces (op[0-9a-f]{4})-\S+ .*; work dir (\S+)/.exec(out.text);
    expect(site, `${out.text}\n${err.text}`).not.toBeNull();
    const [, prefix, work] = site as unknown as [string, string, string];
    expect(siteNamespaces(prefix).length).toBe(6);

    p.kill('SIGINT');
    const code = await p.exited;
    await reading;
    expect(code, `${out.text}\n${err.text}`).toBe(130);
    expect(siteNamespaces(prefix)).toEqual([]);
    expect(existsSync(work)).toBe(false);
    expect(existsSync(`/run/outpost-lab/${prefix}.json`)).toBe(false);
  }, 60_000);
});
