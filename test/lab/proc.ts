// test/lab/proc.ts — owns long-running processes started inside lab
// namespaces: output capture (for failure messages), waiting for a line, and
// the TERM-then-KILL stop used by Lab.destroy().
import { execa } from "execa";

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
}

interface Waiter {
  re: RegExp;
  resolve: (m: RegExpMatchArray) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

function start(ns: string, argv: readonly string[], opts: SpawnOptions) {
  // `ip netns exec` execs the command after setns(), so the pid we get is the
  // real process and signals reach it directly.
  return execa("ip", ["netns", "exec", ns, ...argv], {
    buffer: false,
    reject: false,
    stdin: "ignore",
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
}

export class LabProcess {
  readonly #sub: ReturnType<typeof start>;
  #stdout = "";
  #stderr = "";
  #partial = { stdout: "", stderr: "" };
  #waiters = new Set<Waiter>();
  #running = true;
  /** Resolves with the exit code, or null when ended by a signal. Never rejects. */
  readonly exited: Promise<number | null>;

  constructor(
    readonly host: string,
    readonly ns: string,
    readonly argv: readonly string[],
    opts: SpawnOptions = {},
  ) {
    this.#sub = start(ns, argv, opts);
    for (const stream of ["stdout", "stderr"] as const) {
      const s = this.#sub[stream];
      s.setEncoding("utf8");
      s.on("data", (chunk: string) => this.#onData(stream, chunk));
    }
    this.exited = this.#sub.then(
      (r) => r.exitCode ?? null,
      () => null,
    );
    void this.exited.then((code) => {
      this.#running = false;
      for (const stream of ["stdout", "stderr"] as const) {
        if (this.#partial[stream]) this.#onLine(this.#partial[stream]);
      }
      for (const w of this.#waiters) {
        clearTimeout(w.timer);
        w.reject(this.#error(`exited (code ${code}) before printing ${w.re}`));
      }
      this.#waiters.clear();
    });
  }

  get pid(): number | undefined {
    return this.#sub.pid;
  }
  get running(): boolean {
    return this.#running;
  }
  get stdout(): string {
    return this.#stdout;
  }
  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves with the first stdout/stderr line (past or future) matching `re`. */
  waitFor(re: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    for (const line of `${this.#stdout}\n${this.#stderr}`.split("\n")) {
      const m = line.match(re);
      if (m) return Promise.resolve(m);
    }
    if (!this.#running) return Promise.reject(this.#error(`already exited; never printed ${re}`));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        re,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(w);
          reject(this.#error(`no line matching ${re} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.add(w);
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.#running) return;
    this.#sub.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), graceMs)));
    const outcome = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      this.#sub.kill("SIGKILL");
      await this.exited;
    }
  }

  /** For exit handlers, where nothing asynchronous will run any more. */
  killSync(): void {
    if (!this.#running || this.#sub.pid === undefined) return;
    try {
      process.kill(this.#sub.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  #onData(stream: "stdout" | "stderr", chunk: string): void {
    if (stream === "stdout") this.#stdout += chunk;
    else this.#stderr += chunk;
    const lines = (this.#partial[stream] + chunk).split("\n");
    this.#partial[stream] = lines.pop() ?? "";
    for (const line of lines) this.#onLine(line);
  }

  #onLine(line: string): void {
    for (const w of this.#waiters) {
      const m = line.match(w.re);
      if (!m) continue;
      clearTimeout(w.timer);
      this.#waiters.delete(w);
      w.resolve(m);
    }
  }

  #error(what: string): Error {
    const tail = (s: string) => s.split("\n").slice(-20).join("\n");
    return new Error(
      `[${this.host}] ${this.argv.join(" ")}: ${what}\n--- stdout ---\n${tail(this.#stdout)}\n--- stderr ---\n${tail(this.#stderr)}`,
    );
  }
}
