/**
 * One-shot read of files/folders of resources for the CLI commands (validate, render, selector).
 * "-" is standard input: it is saved to a private temporary file and read with the others, so
 * it gets the same size cap, duplicate checks and messages (which name it "<stdin>").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileResourceSource } from '../datastore/file-source.ts';
import { MAX_FILE_BYTES } from '../datastore/manifest-files.ts';
import type { Resource } from '../model/resource.ts';
import type { ResourceError, ResourceWarning } from '../model/validate.ts';

const STDIN_NAME = '<stdin>';

/** Standard input, at most `limit` bytes (one more is enough for the size cap to refuse it). */
async function readStdin(limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of Bun.stdin.stream()) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) break;
  }
  return Buffer.concat(chunks);
}

export async function loadResourcesOnce(
  paths: readonly string[],
  stdin: () => Promise<Uint8Array> = () => readStdin(MAX_FILE_BYTES),
): Promise<{ resources: Resource[]; errors: ResourceError[]; warnings: ResourceWarning[]; fatal: string | undefined }> {
  let tmp: string | undefined;
  try {
    let stdinFile: string | undefined;
    if (paths.includes('-')) {
      tmp = mkdtempSync(join(tmpdir(), 'outpost-stdin-'));
      stdinFile = join(tmp, 'stdin.yaml');
      writeFileSync(stdinFile, await stdin(), { mode: 0o600 });
    }
    // Read once, even when "-" is given twice.
    const source = new FileResourceSource([...new Set(paths.map((p) => (p === '-' ? stdinFile! : p)))]);
    const r = await source.load();
    const rename = <T extends { source?: string | undefined }>(e: T): T => (stdinFile && e.source === stdinFile ? { ...e, source: STDIN_NAME } : e);
    const fatal = r.fatal && stdinFile ? r.fatal.replaceAll(stdinFile, STDIN_NAME) : r.fatal;
    return { resources: source.current(), errors: r.errors.map(rename), warnings: r.warnings.map(rename), fatal };
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
