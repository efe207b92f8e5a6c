/**
 * At most `limit` publications outstanding at once. One at a time, a relay's fan-out waits a
 * broker round trip per node (10,000 nodes: 10,000 round trips); unbounded, a change touching
 * every node would hold every payload in the client's queue at once. A task never throws here:
 * the caller's task logs its own failure.
 */
export class PublishWindow {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly limit = 64) {}

  /** Waits for room, starts `task`, and returns without waiting for it to finish. */
  async submit(task: () => Promise<unknown>): Promise<void> {
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    const p: Promise<void> = task()
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Resolves when nothing is outstanding. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  get outstanding(): number {
    return this.inFlight.size;
  }
}
