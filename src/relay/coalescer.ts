/**
 * Bursts of datastore events (an `apply -f` of fifty resources) become one computation: run
 * `quietMs` after the last trigger, but never later than `maxWaitMs` after the first, so a
 * steady trickle of changes cannot starve publication.
 */
export class Coalescer {
  private quiet: ReturnType<typeof setTimeout> | undefined;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly quietMs: number,
    private readonly maxWaitMs: number,
  ) {}

  trigger(): void {
    if (this.stopped) return;
    if (this.quiet) clearTimeout(this.quiet);
    this.quiet = setTimeout(() => this.fire(), this.quietMs);
    this.deadline ??= setTimeout(() => this.fire(), this.maxWaitMs);
  }

  private fire(): void {
    if (this.quiet) clearTimeout(this.quiet);
    if (this.deadline) clearTimeout(this.deadline);
    this.quiet = this.deadline = undefined;
    if (this.running) {
      // One computation at a time; a trigger during one runs once more afterwards.
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.fire();
      }
    });
  }

  /** Waits for the computation in flight, if any. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    if (this.quiet) clearTimeout(this.quiet);
    if (this.deadline) clearTimeout(this.deadline);
  }
}
