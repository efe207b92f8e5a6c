/**
 * The folder datastore: a file or a folder of calicoctl-style YAML/JSON manifests, polled for
 * changes (polling, not inotify: it survives editors that save by rename, bind mounts and
 * network filesystems, and a few stat calls every 250 ms cost nothing).
 *
 * Bad input never loses state. Per file:
 * - a file that cannot be parsed at all (YAML syntax error, unreadable) keeps every resource it
 *   last contributed;
 * - a resource that was valid and is now invalid keeps its last valid version;
 * - a resource that was never valid is absent (as Felix treats invalid data), and reported as
 *   not enforced (`unenforced`) so callers can say so loudly.
 * With a LastGoodMemory (the agent's state dir in local mode) "last" survives a restart: an agent
 * that boots with a broken file enforces what that file last held validly, not less.
 * Every problem is reported with the file, resource and field.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseManifest } from '../model/manifest.ts';
import { resourceKey, type Resource } from '../model/resource.ts';
import { isNamespacedKind } from '../model/namespaced.ts';
import type { ResourceError, ResourceWarning } from '../model/validate.ts';

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The resourceKey of the resource an error is about (namespaced kinds carry their namespace in the name). */
const errorKey = (e: ResourceError): string => `${e.kind}/${e.name}`;

interface FileState {
  signature: string;
  resources: Map<string, Resource>;
}

/** Keeps each file's last valid resources beyond this process (local mode: the agent's SQLite). */
export interface LastGoodMemory {
  /** file → key → resource, as recorded by an earlier run. */
  load(): Map<string, Map<string, Resource>>;
  save(file: string, resources: ReadonlyMap<string, Resource>): void;
  /** Forgets every file not in `files`. */
  retain(files: ReadonlySet<string>): void;
}

export interface LoadReport {
  readonly changed: boolean;
  readonly errors: readonly ResourceError[];
  /** Files read this pass: Calico kinds skipped, Felix fields and HTTP matches without effect. */
  readonly warnings: readonly ResourceWarning[];
  /** Invalid resources with no last valid version: nothing of them is enforced. */
  readonly unenforced: readonly { source: string; kind: string; name: string }[];
  /** Problems reading the path itself (missing folder, permission). */
  readonly fatal: string | undefined;
}

async function listFiles(path: string): Promise<string[]> {
  const st = await stat(path);
  if (!st.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && EXTENSIONS.has(extname(e.name)) && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export class FileResourceSource {
  private readonly files = new Map<string, FileState>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private loading = false;
  private loadedOnce = false;

  private remembered: Map<string, Map<string, Resource>>;

  constructor(private readonly paths: readonly string[], private readonly memory?: LastGoodMemory) {
    this.remembered = memory?.load() ?? new Map();
  }

  /** True once every path has been read successfully at least once. */
  get ready(): boolean {
    return this.loadedOnce;
  }

  /** Re-reads files whose size or mtime changed. */
  async load(): Promise<LoadReport> {
    const errors: ResourceError[] = [];
    const warnings: ResourceWarning[] = [];
    const unenforced: LoadReport['unenforced'][number][] = [];
    let changed = false;
    const seen = new Set<string>();
    for (const root of this.paths) {
      let files: string[];
      try {
        files = await listFiles(root);
      } catch (e) {
        // A vanished folder is an outage, not an instruction to delete everything: keep state.
        for (const f of this.files.keys()) if (f === root || f.startsWith(`${root}/`)) seen.add(f);
        return { changed, errors, warnings, unenforced, fatal: `cannot read ${root}: ${(e as Error).message}` };
      }
      for (const file of files) {
        seen.add(file);
        const r = await this.loadFile(file);
        errors.push(...r.errors);
        warnings.push(...r.warnings);
        unenforced.push(...r.unenforced);
        changed ||= r.changed;
      }
    }
    for (const f of [...this.files.keys()]) {
      if (!seen.has(f)) {
        this.files.delete(f);
        changed = true;
      }
    }
    if (this.memory) {
      try {
        this.memory.retain(seen);
      } catch (e) {
        errors.push({ path: '', message: `cannot record the last valid resources: ${(e as Error).message}` });
      }
    }
    this.remembered.clear();
    this.loadedOnce = true;
    return { changed, errors, warnings, unenforced, fatal: undefined };
  }

  private async loadFile(file: string): Promise<{ changed: boolean; errors: ResourceError[]; warnings: ResourceWarning[]; unenforced: LoadReport['unenforced'][number][] }> {
    let signature: string;
    let text: string;
    try {
      const st = await stat(file);
      signature = `${st.size}:${st.mtimeMs}:${st.ino}`;
      if (this.files.get(file)?.signature === signature) return { changed: false, errors: [], warnings: [], unenforced: [] };
      text = await readFile(file, 'utf8');
    } catch (e) {
      return { changed: false, errors: [{ source: file, path: '', message: `cannot read file: ${(e as Error).message}` }], warnings: [], unenforced: [] };
    }
    const remembered = this.remembered.get(file);
    const prev = this.files.get(file) ?? (remembered ? { signature: '', resources: remembered } : undefined);
    const parsed = parseManifest(text, file);
    const unattributed = parsed.errors.some((e) => e.kind === undefined || e.name === undefined);
    if (unattributed && prev) {
      // Cannot tell which resources the broken part held: keep everything this file gave before.
      const first = !this.files.has(file);
      this.files.set(file, { signature, resources: prev.resources });
      return { changed: first, errors: parsed.errors, warnings: parsed.warnings, unenforced: [] };
    }
    const next = new Map<string, Resource>();
    for (const r of parsed.resources) next.set(resourceKey(r), r);
    const unenforced: LoadReport['unenforced'][number][] = [];
    for (const e of parsed.errors) {
      if (e.kind === undefined || e.name === undefined) {
        if (!prev) unenforced.push({ source: file, kind: 'file', name: file });
        continue;
      }
      // An error names kind and name but no namespace: a namespaced kind's last valid versions
      // are those of that kind and name in any namespace that the new text no longer holds.
      const keys = isNamespacedKind(e.kind)
        ? [...(prev?.resources.entries() ?? [])].filter(([, r]) => r.kind === e.kind && r.metadata.name === e.name).map(([k]) => k)
        : [errorKey(e)];
      let kept = false;
      for (const key of keys) {
        const last = prev?.resources.get(key);
        if (last && !next.has(key)) next.set(key, last);
        kept ||= last !== undefined || next.has(key);
      }
      if (!kept && !unenforced.some((u) => u.kind === e.kind && u.name === e.name)) unenforced.push({ source: file, kind: e.kind, name: e.name });
    }
    this.files.set(file, { signature, resources: next });
    const errors = [...parsed.errors];
    try {
      this.memory?.save(file, next);
    } catch (e) {
      errors.push({ source: file, path: '', message: `cannot record the last valid resources: ${(e as Error).message}` });
    }
    return { changed: true, errors, warnings: parsed.warnings, unenforced };
  }

  /** Every resource in force; when two files define the same resource, the later path wins. */
  current(): Resource[] {
    const byKey = new Map<string, Resource>();
    for (const file of [...this.files.keys()].sort()) {
      for (const [k, r] of this.files.get(file)?.resources ?? []) byKey.set(k, r);
    }
    return [...byKey.values()];
  }

  /** Polls for changes; `onReport` runs after every pass that changed something or failed. */
  watch(onReport: (r: LoadReport) => void, intervalMs = 250): void {
    this.timer = setInterval(() => {
      if (this.loading) return;
      this.loading = true;
      this.load()
        .then((r) => {
          if (r.changed || r.fatal || r.errors.length || r.warnings.length) onReport(r);
        })
        .finally(() => {
          this.loading = false;
        });
    }, intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
