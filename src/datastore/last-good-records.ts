/**
 * Writing each file's last valid resources to a LastGoodMemory (the agent's state dir in local
 * mode), so "last valid" survives a restart.
 *
 * Kept apart from the folder reader (file-source.ts) because its failure modes are its own: a
 * record that cannot be written (a full or read-only state dir) must not stop the load, and is
 * retried on every pass so a restart after the disk recovers does not bring back an older "last
 * valid" version; and records may be held back on purpose (holdRecords) so the agent's first
 * apply does not wait for SQLite.
 */
import type { Resource } from '../model/resource.ts';

/** Keeps each file's last valid resources beyond this process (local mode: the agent's SQLite). */
export interface LastGoodMemory {
  /** file → key → resource, as recorded by an earlier run. */
  load(): Map<string, Map<string, Resource>>;
  save(file: string, resources: ReadonlyMap<string, Resource>): void;
  /** Forgets every file not in `files`. */
  retain(files: ReadonlySet<string>): void;
}

/** A file's resources in force now; undefined when the file is no longer loaded. */
export type InForce = (file: string) => ReadonlyMap<string, Resource> | undefined;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class LastGoodRecords {
  /** Files whose last valid resources could not be recorded yet. */
  private readonly unsaved = new Set<string>();
  /** While set, records wait for recordHeld() (they stay in `unsaved`). */
  private holding = false;

  constructor(private readonly memory: LastGoodMemory | undefined) {}

  /** What an earlier run recorded (nothing without a memory). */
  load(): Map<string, Map<string, Resource>> {
    return this.memory?.load() ?? new Map();
  }

  /** Records a file's resources in the memory; the problem, if it could not (kept for a retry). */
  record(file: string, resources: ReadonlyMap<string, Resource>): string | undefined {
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

  hold(): void {
    this.holding = true;
  }

  /** Writes the records held since hold() and stops holding; the problems, if any. */
  recordHeld(inForce: InForce): string[] {
    this.holding = false;
    const problems: string[] = [];
    for (const f of [...this.unsaved]) {
      const held = inForce(f);
      if (!held) {
        this.unsaved.delete(f);
        continue;
      }
      const problem = this.record(f, held);
      if (problem) problems.push(`cannot record the last valid resources of ${f} (retried on every pass): ${problem}`);
    }
    return problems;
  }

  /** Retries the records that could not be written (held records are not failures: they wait for recordHeld()). */
  retry(inForce: InForce): void {
    for (const f of this.holding ? [] : [...this.unsaved]) {
      const held = inForce(f);
      if (!held) this.unsaved.delete(f);
      else if (this.record(f, held) === undefined) this.unsaved.delete(f);
    }
  }

  /** Forgets the records of every file not in `files`; the problem, if it could not. */
  retain(files: ReadonlySet<string>): string | undefined {
    if (!this.memory) return undefined;
    try {
      this.memory.retain(files);
      return undefined;
    } catch (e) {
      return message(e);
    }
  }
}
