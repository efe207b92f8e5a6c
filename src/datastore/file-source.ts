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
 *
 * One file never stalls the others: whatever happens while reading or parsing a file (an error,
 * an exception from the parser, a file over the size cap, a dangling link) is that file's error,
 * and every other file goes on loading. A change is never lost: it is reported by the pass that
 * applied it, even when an earlier pass failed half-way.
 *
 * Consistent reads (`quietMs`): a changed file is loaded only once its size, times and inode have
 * stayed the same for `quietMs` and did not move while it was read, so a file being rewritten in
 * place (truncated, then written slowly) is not enforced half-written; until then the file's
 * previous state stays in force. A file that disappears is dropped only once it has stayed away
 * as long (`rm` then `cp` is not a moment with nothing in force). The one-shot CLI readers use 0:
 * read as found.
 */
import { parseManifest } from '../model/manifest.ts';
import { resourceKey, type Resource } from '../model/resource.ts';
import { isNamespacedKind } from '../model/namespaced.ts';
import { deepEqual } from '../calc/deep-equal.ts';
import type { ResourceError, ResourceWarning } from '../model/validate.ts';
import { listManifestFiles, MAX_FILE_BYTES, readManifestFile, statSignature } from './manifest-files.ts';
import type { HeldBackItem } from '../protocol/held-back.ts';
import { errorsByResource, heldBackReason, sortHeldBack } from './held-back-list.ts';

/** The resourceKey of the resource an error is about (namespaced kinds carry their namespace in the name). */
const errorKey = (e: ResourceError): string => `${e.kind}/${e.name}`;

/** How long a changed file must stay unchanged before the agent and the relay load it. */
export const STABLE_QUIET_MS = 300;

interface FileState {
  signature: string;
  resources: Map<string, Resource>;
}

/** A changed file not loaded yet: its signature and since when (monotonic ms) it has had it. */
interface Candidate {
  signature: string;
  since: number;
  /** Since when the file has been changing without settling, and whether that was reported. */
  changingSince: number;
  warned: boolean;
}

/** Keeps each file's last valid resources beyond this process (local mode: the agent's SQLite). */
export interface LastGoodMemory {
  /** file → key → resource, as recorded by an earlier run. */
  load(): Map<string, Map<string, Resource>>;
  save(file: string, resources: ReadonlyMap<string, Resource>): void;
  /** Forgets every file not in `files`. */
  retain(files: ReadonlySet<string>): void;
}

export interface Unenforced {
  readonly source: string;
  readonly kind: string;
  readonly name: string;
  /** For kind 'file': why nothing of it is in force (default: it cannot be read as manifests). */
  readonly why?: string;
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

/** A file that keeps changing this long is reported (once per streak). */
const CHANGING_REPORT_MS = 10_000;

type FileResult = { errors: ResourceError[]; warnings: ResourceWarning[]; unenforced: Unenforced[]; pending: boolean; gone?: boolean };
const NOTHING: FileResult = { errors: [], warnings: [], unenforced: [], pending: false };
const PENDING: FileResult = { errors: [], warnings: [], unenforced: [], pending: true };

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class FileResourceSource {
  private readonly files = new Map<string, FileState>();
  private readonly candidates = new Map<string, Candidate>();
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

  /** Files whose last valid resources could not be recorded yet. */
  private readonly unsaved = new Set<string>();

  /** While set, records wait for recordHeld() (they stay in `unsaved`). */
  private holding = false;

  /** Records a file's resources in the memory; the problem, if it could not (kept for a retry). */
  private record(file: string, resources: ReadonlyMap<string, Resource>): string | undefined {
    if (!this.memory) return undefined;
    if (this.holding) {
      this.unsaved.add(file);
      return undefined;
    }
    try {
      this.memory.save(file, resources);
      this.unsaved.delete(file);
      return undefined;
    } catch (e) {
      this.unsaved.add(file);
      return message(e);
    }
  }

  constructor(
    private readonly paths: readonly string[],
    private readonly memory?: LastGoodMemory,
    private readonly options: FileSourceOptions = {},
  ) {
    this.remembered = memory?.load() ?? new Map();
    this.quietMs = options.quietMs ?? 0;
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
    this.holding = true;
  }

  /** Writes the records held since holdRecords() and stops holding; the problems, if any (retried on every pass). */
  recordHeld(): string[] {
    this.holding = false;
    const problems: string[] = [];
    for (const f of [...this.unsaved]) {
      const held = this.files.get(f);
      if (!held) {
        this.unsaved.delete(f);
        continue;
      }
      const problem = this.record(f, held.resources);
      if (problem) problems.push(`cannot record the last valid resources of ${f} (retried on every pass): ${problem}`);
    }
    return problems;
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
          if (!this.candidates.has(file)) continue; // a file pending removal: still in force
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
    for (const f of [...this.candidates.keys()]) if (!seen.has(f)) this.candidates.delete(f);
    // Records that could not be written (a full or read-only state dir) are retried on every pass,
    // so a restart after the disk recovers does not bring back an older "last valid" version.
    // (Held records are not failures: they wait for recordHeld().)
    for (const f of this.holding ? [] : [...this.unsaved]) {
      const held = this.files.get(f);
      if (!held) this.unsaved.delete(f);
      else if (this.record(f, held.resources) === undefined) this.unsaved.delete(f);
    }
    if (this.memory) {
      try {
        this.memory.retain(new Set([...seen, ...this.files.keys()]));
      } catch (e) {
        errors.push({ path: '', message: `cannot record the last valid resources: ${message(e)}` });
      }
    }
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
    this.candidates.delete(file);
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
      this.candidates.delete(file);
      return NOTHING;
    }
    const now = this.now();
    const cand = this.candidates.get(file);
    // A file whose ctime is quietMs old already has stayed unchanged that long (an agent starting
    // on manifests written earlier need not watch them for quietMs first); the read below still
    // refuses one that moves while it is read. ctime is wall-clock time: not with a test's clock.
    const quietByCtime = this.options.now === undefined && Date.now() - st.ctimeMs >= this.quietMs;
    if (this.quietMs > 0 && !quietByCtime && !(cand && cand.signature === st.signature && now - cand.since >= this.quietMs)) {
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
    this.candidates.delete(file);
    return this.accept(file, read.signature, new TextDecoder().decode(read.bytes));
  }

  private waitForQuiet(file: string, signature: string, now: number): FileResult {
    const cand = this.candidates.get(file);
    if (!cand || cand.signature !== signature) this.candidates.set(file, { signature, since: now, changingSince: cand?.changingSince ?? now, warned: cand?.warned ?? false });
    // A file that is still settling keeps its previous state; at start, the remembered one.
    if (!this.files.has(file) && this.remembered.has(file)) {
      this.files.set(file, { signature: '', resources: this.remembered.get(file)! });
      this.dirty = true;
    }
    const c = this.candidates.get(file)!;
    if (!c.warned && now - c.changingSince >= CHANGING_REPORT_MS) {
      c.warned = true;
      return { ...PENDING, errors: [{ source: file, path: '', message: `has kept changing for ${Math.round((now - c.changingSince) / 1000)} s; it is loaded once it stays unchanged for ${this.quietMs} ms (write a temporary file and rename it over this one)` }] };
    }
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
    const next = new Map<string, Resource>();
    // An unchanged resource keeps its object: what is computed per object downstream (compiled
    // policies, the renderer's chains) is reused, so editing one policy of a file of 100 costs
    // one policy's work, not 100. Only a map this run parsed (a remembered one validates on
    // first use, which costs more than it saves).
    const before = this.files.get(file)?.resources;
    const reuse = before?.constructor === Map ? before : undefined;
    for (const r of parsed.resources) {
      const key = resourceKey(r);
      const old = reuse?.get(key);
      next.set(key, old !== undefined && deepEqual(old, r) ? old : r);
    }
    const unenforced: Unenforced[] = [];
    const held: HeldBackItem[] = [];
    const loose = parsed.errors.filter((e) => e.kind === undefined || e.name === undefined);
    if (loose.length) held.push({ kind: 'file', name: file, source: file, reason: heldBackReason(loose), lastValidInForce: false });
    const keptByResource = new Map<string, boolean>();
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
      keptByResource.set(errorKey(e), kept || keptByResource.get(errorKey(e)) === true);
    }
    for (const [k, g] of errorsByResource(parsed.errors)) held.push({ kind: g.kind, name: g.name, source: file, reason: heldBackReason(g.errors), lastValidInForce: keptByResource.get(k) === true });
    this.held.set(file, held);
    this.files.set(file, { signature, resources: next });
    this.dirty = true;
    const errors = [...parsed.errors];
    const problem = this.record(file, next);
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
