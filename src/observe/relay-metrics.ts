/**
 * The relay's Prometheus metrics, kept up to date as a RelayObserver (src/relay/observations.ts).
 */
import type { RelayObserver } from '../relay/observations.ts';
import type { PromClient, Registry } from './prom.ts';
import { numericRevision, optionalGauge, type Readiness } from './agent-metrics.ts';

export interface RelayMetrics {
  readonly registry: Registry;
  readonly observer: RelayObserver;
  /** Ready while both the datastore and the broker are connected. */
  ready(): Readiness;
}

/** Computing a datastore state takes from a millisecond (one change, few nodes) to seconds (thousands of nodes). */
const COMPUTE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createRelayMetrics(prom: PromClient, opts: { readonly now?: () => number } = {}): RelayMetrics {
  const now = opts.now ?? Date.now;
  const registry = new prom.Registry();
  const registers = [registry];
  const publishes = new prom.Counter({ name: 'outpost_relay_publishes_total', help: 'Snapshot publications the broker acknowledged (result ok, re-signatures included) or did not (result failed; retried).', labelNames: ['result'], registers });
  const compute = new prom.Histogram({ name: 'outpost_relay_compute_duration_seconds', help: 'Time to compute and encode the plans of one datastore state.', buckets: COMPUTE_BUCKETS, registers });
  const nodes = new prom.Gauge({ name: 'outpost_relay_nodes', help: 'Nodes the relay computes plans for.', registers });
  let revision: number | undefined;
  let lastPublishMs: number | undefined;
  optionalGauge(prom, registry, 'outpost_relay_revision', 'Datastore revision of the last computed state.', () => revision);
  const heldBack = new prom.Gauge({ name: 'outpost_relay_held_back_resources', help: 'Resources held back as invalid: the last valid version of each stays published; one that was never valid is not published at all.', registers });
  const testsFailing = new prom.Gauge({ name: 'outpost_relay_tests_failing', help: 'Policy tests failing on the last computed state (its publication is refused while above 0).', registers });
  const broker = new prom.Gauge({ name: 'outpost_relay_broker_connected', help: '1 while the relay is connected to the MQTT broker.', registers });
  const datastore = new prom.Gauge({ name: 'outpost_relay_datastore_connected', help: '1 while the datastore answers (etcd watch established, or the folder read).', registers });
  optionalGauge(prom, registry, 'outpost_relay_last_publish_timestamp_seconds', 'When the broker last acknowledged a snapshot (Unix time).', () => lastPublishMs === undefined ? undefined : lastPublishMs / 1000);
  publishes.inc({ result: 'ok' }, 0);
  publishes.inc({ result: 'failed' }, 0);
  for (const g of [nodes, heldBack, testsFailing, broker, datastore]) g.set(0);
  let brokerUp = false;
  let brokerError: string | undefined;
  let datastoreUp = false;
  let datastoreError: string | undefined;

  const observer: RelayObserver = {
    stateComputed(e) {
      compute.observe(Math.max(0, e.durationMs) / 1000);
      nodes.set(e.nodes);
      revision = numericRevision(e.revision) ?? revision;
    },
    snapshotPublished() {
      publishes.inc({ result: 'ok' });
      lastPublishMs = now();
    },
    publishFailed() {
      publishes.inc({ result: 'failed' });
    },
    heldBackChanged(e) {
      heldBack.set(e.count);
    },
    testsFailing(e) {
      testsFailing.set(e.failed);
    },
    testsPassing() {
      testsFailing.set(0);
    },
    brokerConnected() {
      brokerUp = true;
      brokerError = undefined;
      broker.set(1);
    },
    brokerDisconnected(e) {
      brokerUp = false;
      brokerError = e.error;
      broker.set(0);
    },
    datastoreConnected() {
      datastoreUp = true;
      datastoreError = undefined;
      datastore.set(1);
    },
    datastoreDisconnected(e) {
      datastoreUp = false;
      datastoreError = e.error;
      datastore.set(0);
    },
  };

  return {
    registry,
    observer,
    ready() {
      const problems: string[] = [];
      if (!datastoreUp) problems.push(`datastore not connected${datastoreError ? `: ${datastoreError}` : ''}`);
      if (!brokerUp) problems.push(`broker not connected${brokerError ? `: ${brokerError}` : ''}`);
      return problems.length === 0 ? { ok: true } : { ok: false, reason: problems.join('; ') };
    },
  };
}
