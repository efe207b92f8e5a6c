/**
 * The relay's policy tests (`tests`): before a computed datastore state is published, its node
 * plans must give every declared flow its expected verdict (the explain engine, the same one
 * `outpost test` runs). A state whose tests fail is published not at all: the last passing state
 * stays in force on every node. The outcome is logged (an error naming the failing tests, once
 * per state), told to observers (metrics), and published retained on `<prefix>/relay/status` for
 * `outpost fleet`.
 */
import type { NodePlan } from '../plan/schema.ts';
import type { Logger } from '../platform/logger.ts';
import { runPolicyTests, type PolicyTest, type PolicyTestResult } from '../explain/policy-tests.ts';
import { encodeRelayStatus, MAX_RELAY_STATUS_FAILURES, type RelayStatus, type RelayTestFailure } from '../protocol/relay-status.ts';
import { relayStatusTopic } from '../protocol/topics.ts';
import type { PolicyTestFailureSummary } from './observations.ts';

export interface TestGateEvents {
  failing(e: { revision: string; failed: number; total: number; failures: readonly PolicyTestFailureSummary[] }): void;
  passing(e: { revision: string; total: number }): void;
}

function failureSummary(r: PolicyTestResult): RelayTestFailure {
  const where = r.node ? ` (node ${r.node}${r.iface ? `, ${r.iface}` : ''})` : '';
  return { test: `${r.test.name}${where}`, expected: r.expected, got: r.got ?? `not run: ${r.problem ?? 'unknown reason'}` };
}

export class PolicyTestGate {
  private status: RelayStatus | undefined;
  private pending = false;

  constructor(
    private readonly tests: readonly PolicyTest[],
    private readonly prefix: string,
    private readonly publish: (topic: string, payload: Uint8Array) => Promise<boolean>,
    private readonly log: Logger,
    private readonly events: TestGateEvents,
  ) {}

  get failing(): boolean {
    return this.status?.testsFailing === true;
  }

  /**
   * Runs the tests on the state at `revision`; true when it may be published. `planFor` gives a
   * node's plan at that state, `nodes` every node with a HEP.
   */
  check(revision: string, planFor: (node: string) => NodePlan | undefined, nodes: readonly string[], now = new Date()): boolean {
    let report;
    try {
      report = runPolicyTests(this.tests, planFor, nodes);
    } catch (e) {
      // A bug in the engine must not publish an untested state either.
      report = { passed: 0, results: [], failures: [] };
      this.log.error({ revision, err: e instanceof Error ? e.message : String(e) }, 'policy tests could not run; this state is not published');
      this.update({ testsFailing: true, tests: { total: this.tests.length, failed: this.tests.length }, failures: [{ test: '(all)', expected: 'run', got: e instanceof Error ? e.message : String(e) }] }, revision, now);
      this.events.failing({ revision, failed: this.tests.length, total: this.tests.length, failures: [] });
      return false;
    }
    const total = report.results.length;
    if (report.failures.length === 0) {
      if (this.failing) this.log.info({ revision, tests: total }, `policy tests pass again at revision ${revision}; publishing it`);
      this.update({ testsFailing: false, tests: { total, failed: 0 }, failures: [] }, revision, now);
      this.events.passing({ revision, total });
      return true;
    }
    const failures = report.failures.map(failureSummary);
    const kept = this.status?.publishedRevision;
    this.log.error(
      { revision, failed: failures.length, total, failures: failures.slice(0, MAX_RELAY_STATUS_FAILURES).map((f) => `${f.test}: expected ${f.expected}, got ${f.got}`) },
      `policy tests FAILED at revision ${revision} (${failures.length} of ${total}: ${failures.slice(0, 5).map((f) => f.test).join('; ')}${failures.length > 5 ? '; …' : ''}); this state is NOT published, ${kept === undefined ? 'nothing was published since this relay started: the snapshots the broker holds from before stay in force' : `revision ${kept} stays in force`}`,
    );
    this.update({ testsFailing: true, tests: { total, failed: failures.length }, failures: failures.slice(0, MAX_RELAY_STATUS_FAILURES) }, revision, now);
    this.events.failing({ revision, failed: failures.length, total, failures });
    return false;
  }

  /** The state at `revision` passed and went out: it is the one in force now. */
  published(revision: string): void {
    if (!this.status || this.status.publishedRevision === revision) return;
    this.status = { ...this.status, publishedRevision: revision };
    this.pending = true;
    void this.flush();
  }

  private update(next: Pick<RelayStatus, 'testsFailing' | 'tests' | 'failures'>, revision: string, now: Date): void {
    const prev = this.status;
    const since = prev && prev.testsFailing === next.testsFailing ? prev.since : now.toISOString();
    const status: RelayStatus = {
      ...next,
      since,
      ...(prev?.publishedRevision !== undefined ? { publishedRevision: prev.publishedRevision } : {}),
      ...(next.testsFailing ? { failingRevision: revision } : {}),
    };
    if (prev && JSON.stringify(prev) === JSON.stringify(status)) return;
    this.status = status;
    this.pending = true;
    void this.flush();
  }

  /** Publishes the status if it has not reached the broker yet (`force`: again, after a reconnect). */
  async flush(force = false): Promise<void> {
    if (!this.status || (!this.pending && !force)) return;
    this.pending = false;
    if (!(await this.publish(relayStatusTopic(this.prefix), encodeRelayStatus(this.status)))) this.pending = true;
  }
}
