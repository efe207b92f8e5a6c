/** Reads a YAML config file (agent or relay). A missing default file is fine; a broken one is an error. */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { RawSettings } from './settings.ts';


export async function loadConfigFile(path: string, required: boolean): Promise<{ ok: true; settings: RawSettings } | { ok: false; error: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, settings: {} };
    return { ok: false, error: `cannot read config ${path}: ${(e as Error).message}` };
  }
  try {
    const doc: unknown = parse(text);
    if (doc === null || doc === undefined) return { ok: true, settings: {} };
    if (typeof doc !== 'object' || Array.isArray(doc)) return { ok: false, error: `${path}: the config must be a YAML mapping` };
    return { ok: true, settings: doc as RawSettings };
  } catch (e) {
    return { ok: false, error: `${path}: ${(e as Error).message}` };
  }
}
