/**
 * The pure core (model, selector, net, plan, calc, render, protocol) must not do I/O: no processes,
 * files, sockets, databases or clocks. Only the edges (nft, datastore, agent, cli, config) may.
 * Bun's YAML parser and hashers are pure functions and allowed; anything else under `Bun.` is not.
 */
import { describe, expect, test } from 'bun:test';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const SRC = join(import.meta.dir, '../../src');
const PURE = ['model', 'selector', 'net', 'plan', 'calc', 'render', 'protocol'];
/** Pure single files inside otherwise I/O folders: nft JSON types, and hashing (node:crypto is a pure function). */
const PURE_FILES = ['nft/json-types.ts', 'platform/hash.ts', 'datastore/calico-layout.ts', 'etcd/go-json.ts', 'etcd/calico-structs.ts'];
const FORBIDDEN = [/from ['"]node:(fs|fs\/promises|child_process|net|dgram|os|http|https)['"]/, /from ['"]bun:/, /from ['"](execa|mqtt|pino)['"]/, /\bBun\.(?!YAML\b|CryptoHasher\b|hash\b)/, /Date\.now\(\)/, /Math\.random\(\)/, /process\./];
const IMPORT = /from ['"](\.\.?\/[^'"]+)['"]/g;

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(join(SRC, dir), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

describe('architecture boundaries', () => {
  test('the pure single files do no I/O', async () => {
    for (const rel of PURE_FILES) {
      const text = await readFile(join(SRC, rel), 'utf8');
      for (const re of FORBIDDEN) expect(`${rel}: ${re.test(text)}`).toBe(`${rel}: false`);
    }
  });
  for (const dir of PURE) {
    test(`src/${dir} is pure and imports only pure modules`, async () => {
      const problems: string[] = [];
      for (const f of await files(dir)) {
        const text = await readFile(f, 'utf8');
        for (const re of FORBIDDEN) if (re.test(text)) problems.push(`${f}: ${re}`);
        for (const m of text.matchAll(IMPORT)) {
          const target = join(f, '..', m[1]!);
          const top = target.slice(SRC.length + 1).split('/')[0]!;
          const rel = target.slice(SRC.length + 1);
          if (!PURE.includes(top) && !PURE_FILES.includes(rel)) problems.push(`${f} imports ${m[1]}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }
});
