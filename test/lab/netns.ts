// test/lab/netns.ts — owns namespace ownership bookkeeping: which lab prefix
// belongs to which live test runner, and synchronous deletion, so that exit
// handlers and Lab.sweepStale() can clean up without an event loop.
//
// Every lab writes /run/outpost-lab/<prefix>.json = {pid, start} before it
// creates a namespace. `start` is the runner's start time from /proc, so a
// recycled pid is not mistaken for a live owner.
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

export const MARKER_DIR = "/run/outpost-lab";
export const NS_NAME = /^(op[0-9a-f]{4})-([a-z0-9]+)$/;

interface Owner {
  pid: number;
  start: string;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised comm start at field 3; starttime is 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

const markerPath = (prefix: string) => `${MARKER_DIR}/${prefix}.json`;

/** Atomically claims `prefix` for this process; false if someone holds it. */
export function claimPrefix(prefix: string): boolean {
  mkdirSync(MARKER_DIR, { recursive: true });
  const owner: Owner = { pid: process.pid, start: startTime(process.pid) ?? "" };
  // Write then hard-link, so no reader ever sees a half-written marker.
  const tmp = `${markerPath(prefix)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(owner));
  try {
    linkSync(tmp, markerPath(prefix));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(tmp, { force: true });
  }
}

export function releasePrefix(prefix: string): void {
  rmSync(markerPath(prefix), { force: true });
}

export function ownerAlive(prefix: string): boolean {
  try {
    const o = JSON.parse(readFileSync(markerPath(prefix), "utf8")) as Owner;
    return startTime(o.pid) === o.start;
  } catch {
    return false;
  }
}

export function listNamespaces(): string[] {
  return existsSync("/run/netns") ? readdirSync("/run/netns") : [];
}

function run(argv: string[]): { ok: boolean; stdout: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "ignore" });
  return { ok: r.exitCode === 0, stdout: r.stdout.toString() };
}

/**
 * Kills whatever still runs inside `ns`, then removes it. A namespace is only
 * freed once its last process is gone, so the kill comes first.
 */
export function deleteNamespaceSync(ns: string): void {
  for (const pid of run(["ip", "netns", "pids", ns]).stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // already gone
    }
  }
  run(["ip", "netns", "del", ns]);
}

/** Deletes lab namespaces and markers whose owning runner is dead. */
export function sweepStaleSync(): string[] {
  const deleted: string[] = [];
  for (const ns of listNamespaces()) {
    const prefix = NS_NAME.exec(ns)?.[1];
    if (!prefix || ownerAlive(prefix)) continue;
    deleteNamespaceSync(ns);
    deleted.push(ns);
  }
  if (existsSync(MARKER_DIR)) {
    for (const f of readdirSync(MARKER_DIR)) {
      const prefix = /^(op[0-9a-f]{4})\.json$/.exec(f)?.[1];
      if (prefix && !ownerAlive(prefix)) releasePrefix(prefix);
    }
  }
  return deleted;
}

interface Destroyable {
  destroySync(): void;
}

const live = new Set<Destroyable>();
let handlersInstalled = false;

/** Labs alive in this process; exit/SIGINT/SIGTERM destroy them. A crashed
 * or interrupted test run must not leave namespaces behind, and by the time
 * 'exit' fires only synchronous work can run. */
export function track(lab: Destroyable): void {
  live.add(lab);
  if (handlersInstalled) return;
  handlersInstalled = true;
  const destroyAll = () => {
    for (const l of live) l.destroySync();
  };
  process.on("exit", destroyAll);
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(signal, () => {
      destroyAll();
      process.exit(code);
    });
  }
}

export function untrack(lab: Destroyable): void {
  live.delete(lab);
}
