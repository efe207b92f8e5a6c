import { describe, expect, test } from 'bun:test';
import { loadProm } from '../../../src/observe/prom.ts';
import { createRelayMetrics } from '../../../src/observe/relay-metrics.ts';
import { notifyObservers } from '../../../src/relay/observations.ts';
import { parseExposition, sampleValue } from './prom-text.ts';
import pino from 'pino';

const prom = await loadProm();
const silent = pino({ level: 'silent' });

describe('relay metrics, fed through the relay observer', () => {
  test('at start: nothing connected, not ready (naming both), no revision and no publish time', async () => {
    const m = createRelayMetrics(prom);
    const f = parseExposition(await m.registry.metrics());
    expect(sampleValue(f, 'outpost_relay_broker_connected')).toBe(0);
    expect(sampleValue(f, 'outpost_relay_datastore_connected')).toBe(0);
    expect(sampleValue(f, 'outpost_relay_publishes_total', { result: 'ok' })).toBe(0);
    expect(sampleValue(f, 'outpost_relay_publishes_total', { result: 'failed' })).toBe(0);
    expect(f.get('outpost_relay_revision')?.samples).toEqual([]);
    expect(f.get('outpost_relay_last_publish_timestamp_seconds')?.samples).toEqual([]);
    expect(m.ready()).toEqual({ ok: false, reason: 'datastore not connected; broker not connected' });
  });

  test('every event reaches its series; readiness follows the two connections', async () => {
    const m = createRelayMetrics(prom, { now: () => 1_800_000_000_000 });
    const obs = [m.observer];
    notifyObservers(obs, silent, 'datastoreConnected');
    notifyObservers(obs, silent, 'brokerConnected');
    expect(m.ready()).toEqual({ ok: true });
    notifyObservers(obs, silent, 'stateComputed', { revision: '1234', durationMs: 12, nodesChanged: 2, nodes: 5 });
    notifyObservers(obs, silent, 'snapshotPublished', { node: 'a', revision: '1234', hash: 'h' });
    notifyObservers(obs, silent, 'snapshotPublished', { node: 'b', revision: '1234', hash: 'h' });
    notifyObservers(obs, silent, 'publishFailed', { topic: 't', node: 'c', error: 'timeout' });
    notifyObservers(obs, silent, 'heldBackChanged', { count: 2 });
    notifyObservers(obs, silent, 'testsFailing', { revision: '1235', failed: 3, total: 9, failures: [] });
    notifyObservers(obs, silent, 'brokerDisconnected', { error: 'ECONNREFUSED' });
    let f = parseExposition(await m.registry.metrics());
    expect(sampleValue(f, 'outpost_relay_revision')).toBe(1234);
    expect(sampleValue(f, 'outpost_relay_nodes')).toBe(5);
    expect(sampleValue(f, 'outpost_relay_compute_duration_seconds_count')).toBe(1);
    expect(sampleValue(f, 'outpost_relay_compute_duration_seconds_sum')).toBeCloseTo(0.012, 6);
    expect(sampleValue(f, 'outpost_relay_publishes_total', { result: 'ok' })).toBe(2);
    expect(sampleValue(f, 'outpost_relay_publishes_total', { result: 'failed' })).toBe(1);
    expect(sampleValue(f, 'outpost_relay_last_publish_timestamp_seconds')).toBe(1_800_000_000);
    expect(sampleValue(f, 'outpost_relay_held_back_resources')).toBe(2);
    expect(sampleValue(f, 'outpost_relay_tests_failing')).toBe(3);
    expect(sampleValue(f, 'outpost_relay_broker_connected')).toBe(0);
    expect(sampleValue(f, 'outpost_relay_datastore_connected')).toBe(1);
    expect(m.ready()).toEqual({ ok: false, reason: 'broker not connected: ECONNREFUSED' });
    notifyObservers(obs, silent, 'testsPassing', { revision: '1236', total: 9 });
    notifyObservers(obs, silent, 'brokerConnected');
    notifyObservers(obs, silent, 'datastoreDisconnected', { error: 'etcd: deadline exceeded' });
    f = parseExposition(await m.registry.metrics());
    expect(sampleValue(f, 'outpost_relay_tests_failing')).toBe(0);
    expect(m.ready()).toEqual({ ok: false, reason: 'datastore not connected: etcd: deadline exceeded' });
  });

  test('a revision that is not a plain integer leaves the last one', async () => {
    const m = createRelayMetrics(prom);
    m.observer.stateComputed!({ revision: '7', durationMs: 1, nodesChanged: 0, nodes: 0 });
    m.observer.stateComputed!({ revision: 'abc', durationMs: 1, nodesChanged: 0, nodes: 0 });
    expect(sampleValue(parseExposition(await m.registry.metrics()), 'outpost_relay_revision')).toBe(7);
  });
});
