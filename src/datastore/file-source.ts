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
 * that boots with a broken file enforces what that file last held validly, not less
 * (last-good-records.ts). What a parsed file puts in force, resource by resource, is
 * last-valid-merge.ts; this file owns the polling and whole-file failures around it.
 * Every problem is reported with the file, resource and field.
 *
 * One file never stalls the others: whatever happens while reading or parsing a file (an error,
 * an exception from the parser, a file over the size cap, a dangling link) is that file's error,
 * and every other file goes on loading. A change is never lost: it is reported by the pass that
 * applied it, even when an earlier pass failed half-way.
 *
 * Consistent reads (`quietMs`): a changed file is loaded only once its size, times and inode have
 * stayed the same for `quietMs` and did not move while it was read, so a file being rewritten in
 * place (truncated, then written slowly) is not enforced half-written; until then the file's
 * previous state stays in force (settling-files.ts). A file that disappears is dropped only once it has stayed away
 * as long (`rm` then `cp` is not a moment with nothing in force). The one-shot CLI readers use 0:
 * read as found.
 */
import { parseManifest } from '../model/manifest.ts';
import type { Resource } from '../model/resource.ts';
import type { ResourceError, ResourceWarning } from '../model/validate.ts';
import { listManifestFiles, MAX_FILE_BYTES, readManifestFile, statSignature } from './manifest-files.ts';
import type { HeldBackItem } from '../protocol/held-back.ts';
import { heldBackReason, sortHeldBack } from './held-back-list.ts';
import { LastGoodRecords, type LastGoodMemory } from './last-good-records.ts';
import { mergeLastValid, type Unenforced } from './last-valid-merge.ts';
import { SettlingFiles } from './settling-files.ts';

// Their owners moved; importers keep importing them from here.
export type { LastGoodMemory } from './last-good-records.ts';
export type { Unenforced } from './last-valid-merge.ts';

/** How long a changed file must stay unchanged before the agent and the relay load it. */
export const STABLE_QUIET_MS = 300;

interface FileState {
  signature: string;
  resources: Map<string, Resource>;
}

export interface LoadReport {
  readonly changed: boolean;
  readonly errors: readonly ResourceError[];
  /** Files read this pass: Calico kinds skipped, Felix fields and HTTP matches without effect. */
  readonly warnings: readonly ResourceWarning[];
  /** Invalid resources with no last valid version: nothing of them is enforced. */
  readonly unenforced: readonly Unenforced[];
  /** Problems reading the path itself (missing folder, permission). */
  readonly fatal: string | undefined;
}

export interface FileSourceOptions {
  /** See the module comment; 0 (default): load a file as found. The agent and relay use STABLE_QUIET_MS. */
  readonly quietMs?: number;
  /** How long load() waits for changing files to settle before it goes on without them (default 5 s). */
  readonly settleMs?: number;
  readonly maxFileBytes?: number;
  /** Monotonic milliseconds (tests drive it). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

type FileResult = { errors: ResourceError[]; warnings: ResourceWarning[]; unenforced: Unenforced[]; pending: boolean; gone?: boolean };
const NOTHING: FileResult = { errors: [], warnings: [], unenforced: [], pending: false };
const PENDING: FileResult = { errors: [], warnings: [], unenforced: [], pending: true };

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class FileResourceSource {
  private readonly files = new Map<string, FileState>();
  private readonly settling: SettlingFiles;
  /** Known files missing from the listing, since when. */
  private readonly missingSince = new Map<string, number>();
  /** Folder-level problems already reported (unreadable sub-folders), so each is said once. */
  private reportedProblems = new Map<string, string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private loading = false;
  /** Per file, what it holds that is invalid now (held back); replaced each time the file is read. */
  private readonly held = new Map<string, HeldBackItem[]>();
  /** The last pass's fatal problem, so a recovery is reported. */
  private lastFatal: string | undefined;
  private loadedOnce = false;
  /** Set by every change to the resources in force, cleared by the pass that reports it. */
  private dirty = false;
  private readonly quietMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  private remembered: Map<string, Map<string, Resource>>;
  private readonly records: LastGoodRecords;
  private readonly inForce = (file: string) => this.files.get(file)?.resources;

  constructor(
    private readonly paths: readonly string[],
    memory?: LastGoodMemory,
    private readonly options: FileSourceOptions = {},
  ) {
    this.records = new LastGoodRecords(memory);
    this.remembered = this.records.load();
    this.quietMs = options.quietMs ?? 0;
    this.settling = new SettlingFiles(this.quietMs);
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? ((ms) => Bun.sleep(ms));
  }

  /**
   * Records of last valid resources wait until recordHeld(). The agent's first apply holds them
   * so the SQLite writes (tens of ms, hundreds when the disk is busy) come after it instead of
   * before it. What waits is only a copy of files still on disk: a crash before recordHeld()
   * leaves the previous records, as a crash just before the load would have.
   */
  holdRecords(): void {
    this.records.hold();
  }

  /** Writes the records held since holdRecords() and stops holding; the problems, if any (retried on every pass). */
  recordHeld(): string[] {
    return this.records.recordHeld(this.inForce);
  }

  /** True once every path has been read successfully at least once. */
  get ready(): boolean {
    return this.loadedOnce;
  }

  /**
   * Reads what changed and waits for changing files to settle (at most `settleMs`): what is
   * still changing then is left out, reported, and picked up by later passes.
   */
  async load(): Promise<LoadReport> {
    const deadline = this.now() + (this.options.settleMs ?? 5_000);
    const errors: ResourceError[] = [];
    const warnings: ResourceWarning[] = [];
    const unenforced: Unenforced[] = [];
    let changed = false;
    for (;;) {
      const r = await this.pass();
      errors.push(...r.errors);
      warnings.push(...r.warnings);
      unenforced.push(...r.unenforced);
      changed ||= r.changed;
      if (r.fatal || r.pending.length === 0 || this.now() >= deadline) {
        for (const file of r.pending) {
          if (!this.settling.has(file)) continue; // a file pending removal: still in force
          errors.push({ source: file, path: '', message: `still changing after ${this.options.settleMs ?? 5_000} ms; not loaded until it stays unchanged for ${this.quietMs} ms` });
          if (!this.files.has(file)) unenforced.push({ source: file, kind: 'file', name: file, why: 'is still being written' });
        }
        this.remembered.clear();
        return { changed, errors, warnings, unenforced, fatal: r.fatal };
      }
      await this.sleep(Math.max(this.quietMs, 1));
    }
  }

  /** One poll (what `watch` runs): loads what is new and has settled, without waiting for the rest. */
  poll(): Promise<LoadReport & { pending: string[] }> {
    return this.pass();
  }

  /** One look at every path: loads what is new and settled; never throws for one file's sake. */
  private async pass(): Promise<LoadReport & { pending: string[] }> {
    const errors: ResourceError[] = [];
    const warnings: ResourceWarning[] = [];
    const unenforced: Unenforced[] = [];
    const fatal: string[] = [];
    const pending: string[] = [];
    const seen = new Set<string>();
    const problems = new Map<string, string>();
    const keepUnder = (dir: string) => {
      for (const f of this.files.keys()) if (f === dir || f.startsWith(`${dir}/`)) seen.add(f);
    };
    for (const root of this.paths) {
      let listing;
      try {
        listing = await listManifestFiles(root);
      } catch (e) {
        // A vanished folder is an outage, not an instruction to delete everything: keep state.
        keepUnder(root);
        fatal.push(`cannot read ${root}: ${message(e)}`);
        continue;
      }
      for (const [dir, why] of listing.unreadable) {
        keepUnder(dir);
        problems.set(dir, why);
        if (this.reportedProblems.get(dir) !== why) errors.push({ source: dir, path: '', message: `${why}; what its files last held stays in force` });
      }
      for (const file of listing.files) {
        seen.add(file);
        let r: FileResult;
        try {
          const dangling = listing.dangling.get(file);
          r = dangling ? this.refuse(file, `dangling:${dangling}`, dangling) : await this.loadFile(file);
        } catch (e) {
          // Only a bug gets here; it is still this file's problem alone.
          r = this.refuse(file, `error:${message(e)}`, `cannot load file: ${message(e)}`);
        }
        if (r.gone) seen.delete(file);
        errors.push(...r.errors);
        warnings.push(...r.warnings);
        unenforced.push(...r.unenforced);
        if (r.pending) pending.push(file);
      }
    }
    this.reportedProblems = problems;
    const now = this.now();
    for (const f of [...this.files.keys()]) {
      if (seen.has(f)) continue;
      const since = this.missingSince.get(f) ?? now;
      this.missingSince.set(f, since);
      if (now - since >= this.quietMs) {
        this.files.delete(f);
        this.held.delete(f);
        this.missingSince.delete(f);
        this.dirty = true;
      } else pending.push(f);
    }
    for (const f of [...this.missingSince.keys()]) if (seen.has(f) || !this.files.has(f)) this.missingSince.delete(f);
    this.settling.keepOnly(seen);
    // Records that could not be written (a full or read-only state dir) are retried on every pass,
    // so a restart after the disk recovers does not bring back an older "last valid" version.
    // (Held records are not failures: they wait for recordHeld().)
    this.records.retry(this.inForce);
    const problem = this.records.retain(new Set([...seen, ...this.files.keys()]));
    if (problem !== undefined) errors.push({ path: '', message: `cannot record the last valid resources: ${problem}` });
    if (fatal.length === 0) this.loadedOnce = true;
    const changed = this.dirty;
    this.dirty = false;
    return { changed, errors, warnings, unenforced, fatal: fatal.length ? fatal.join('; ') : undefined, pending };
  }

  /** The state a file had before this change: in this run, or recorded by an earlier one. */
  private previous(file: string): FileState | undefined {
    const remembered = this.remembered.get(file);
    return this.files.get(file) ?? (remembered ? { signature: '', resources: remembered } : undefined);
  }

  /**
   * A file that cannot be used as a whole (unreadable, too large, dangling link, parser crash):
   * what it last held stays in force. Reported once per `signature`, not on every poll.
   */
  private refuse(file: string, signature: string, why: string): FileResult {
    const cur = this.files.get(file);
    if (cur?.signature === signature) return NOTHING;
    this.settling.forget(file);
    const prev = this.previous(file);
    this.files.set(file, { signature, resources: prev?.resources ?? new Map() });
    this.held.set(file, [{ kind: 'file', name: file, source: file, reason: heldBackReason([{ path: '', message: why }]), lastValidInForce: prev !== undefined }]);
    if (!cur && prev) this.dirty = true; // a remembered state now in force
    return {
      errors: [{ source: file, path: '', message: prev ? `${why}; what it last held stays in force` : why }],
      warnings: [],
      unenforced: prev ? [] : [{ source: file, kind: 'file', name: file, why: `cannot be read (${why})` }],
      pending: false,
    };
  }

  private async loadFile(file: string): Promise<FileResult> {
    let st;
    try {
      st = await statSignature(file);
    } catch (e) {
      // Gone between the listing and now: the next listing decides (removal waits `quietMs`).
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ...NOTHING, gone: true };
      return this.refuse(file, `unreadable:${(e as NodeJS.ErrnoException).code ?? message(e)}`, `cannot read file: ${message(e)}`);
    }
    if (this.files.get(file)?.signature === st.signature) {
      this.settling.forget(file);
      return NOTHING;
    }
    const now = this.now();
    // A file whose ctime is quietMs old already has stayed unchanged that long (an agent starting
    // on manifests written earlier need not watch them for quietMs first); the read below still
    // refuses one that moves while it is read. ctime is wall-clock time: not with a test's clock.
    const quietByCtime = this.options.now === undefined && Date.now() - st.ctimeMs >= this.quietMs;
    if (this.quietMs > 0 && !quietByCtime && !this.settling.settled(file, st.signature, now)) {
      return this.waitForQuiet(file, st.signature, now);
    }
    const maxBytes = this.options.maxFileBytes ?? MAX_FILE_BYTES;
    let read;
    try {
      read = await readManifestFile(file, maxBytes);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ...NOTHING, gone: true };
      return this.refuse(file, `unreadable:${(e as NodeJS.ErrnoException).code ?? message(e)}`, `cannot read file: ${message(e)}`);
    }
    if (!read.ok) return this.refuse(file, read.signature, `file is ${read.size} bytes, over the ${maxBytes}-byte limit; not read`);
    if (read.changedWhileRead || (this.quietMs > 0 && read.signature !== st.signature)) return this.waitForQuiet(file, read.signature, now);
    this.settling.forget(file);
    return this.accept(file, read.signature, new TextDecoder().decode(read.bytes));
  }

  private waitForQuiet(file: string, signature: string, now: number): FileResult {
    const report = this.settling.changing(file, signature, now);
    // A file that is still settling keeps its previous state; at start, the remembered one.
    if (!this.files.has(file) && this.remembered.has(file)) {
      this.files.set(file, { signature: '', resources: this.remembered.get(file)! });
      this.dirty = true;
    }
    if (report !== undefined) return { ...PENDING, errors: [{ source: file, path: '', message: report }] };
    return PENDING;
  }

  private accept(file: string, signature: string, text: string): FileResult {
    const prev = this.previous(file);
    let parsed: ReturnType<typeof parseManifest>;
    try {
      parsed = parseManifest(text, file);
    } catch (e) {
      // The parser should report, not throw; if it throws anyway, that is this file's error only.
      parsed = { resources: [], errors: [{ source: file, path: '', message: `cannot be read as manifests: ${message(e)}` }], warnings: [] };
    }
    const unattributed = parsed.errors.some((e) => e.kind === undefined || e.name === undefined);
    if (unattributed && prev) {
      // Cannot tell which resources the broken part held: keep everything this file gave before.
      if (!this.files.has(file)) this.dirty = true;
      this.files.set(file, { signature, resources: prev.resources });
      this.held.set(file, [{ kind: 'file', name: file, source: file, reason: heldBackReason(parsed.errors), lastValidInForce: true }]);
      return { errors: parsed.errors, warnings: parsed.warnings, unenforced: [], pending: false };
    }
    const { resources: next, unenforced, held } = mergeLastValid(file, parsed, prev?.resources, this.files.get(file)?.resources);
    this.held.set(file, held);
    this.files.set(file, { signature, resources: next });
    this.dirty = true;
    const errors = [...parsed.errors];
    const problem = this.records.record(file, next);
    if (problem) errors.push({ source: file, path: '', message: `cannot record the last valid resources (retried on every pass): ${problem}` });
    return { errors, warnings: parsed.warnings, unenforced, pending: false };
  }

  /** Resources (or whole files) held back as invalid now, each with whether its last valid version stays in force. */
  heldBack(): HeldBackItem[] {
    return sortHeldBack([...this.held.values()].flat());
  }

  /** Every resource in force; when two files define the same resource, the later path wins. */
  current(): Resource[] {
    const byKey = new Map<string, Resource>();
    for (const file of [...this.files.keys()].sort()) {
      for (const [k, r] of this.files.get(file)?.resources ?? []) byKey.set(k, r);
    }
    return [...byKey.values()];
  }

  /**
   * Polls for changes; `onReport` runs after every pass that changed something or has something
   * to say. Nothing a pass or `onReport` throws stops the polling.
   */
  watch(onReport: (r: LoadReport) => void, intervalMs = 250): void {
    this.timer = setInterval(() => {
      if (this.loading) return;
      this.loading = true;
      this.pass()
        .then(
          (r) => {
            // A path readable again is news even when nothing in it changed (the datastore is back).
            const recovered = this.lastFatal !== undefined && r.fatal === undefined;
            this.lastFatal = r.fatal;
            if (r.changed || r.fatal || recovered || r.errors.length || r.warnings.length || r.unenforced.length) onReport(r);
          },
          (e) => onReport({ changed: false, errors: [], warnings: [], unenforced: [], fatal: `unexpected error reading the resources: ${message(e)}` }),
        )
        .catch(() => undefined)
        .finally(() => {
          this.loading = false;
        });
    }, intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
