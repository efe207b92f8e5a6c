import { describe, expect, test } from 'bun:test';
import { loadProm } from '../../../src/observe/prom.ts';
import { createAgentMetrics } from '../../../src/observe/agent-metrics.ts';
import { fanOut } from '../../../src/agent/observations.ts';
import { STATUS_STATES } from '../../../src/protocol/status.ts';
import { parseExposition, sampleValue } from './prom-text.ts';

const prom = await loadProm();
const at = (s: number) => new Date(1_800_000_000_000 + s * 1000);
const scrape = async (m: { registry: { metrics(): Promise<string> } }) => parseExposition(await m.registry.metrics());

describe('agent metrics, fed through the agent observer', () => {
  test('before anything happened: zeros where a zero is true, no revision, no sync age, not ready', async () => {
    const m = createAgentMetrics(prom, { now: () => at(0).getTime() });
    const f = await scrape(m);
    expect(sampleValue(f, 'outpost_agent_applies_total', { result: 'ok' })).toBe(0);
    expect(sampleValue(f, 'outpost_agent_applies_total', { result: 'failed' })).toBe(0);
    expect(sampleValue(f, 'outpost_agent_held_back_resources')).toBe(0);
    expect(f.get('outpost_agent_revision')?.samples).toEqual([]);
    expect(f.get('outpost_agent_seconds_since_last_sync')?.samples).toEqual([]);
    expect(f.get('outpost_agent_policy_packets_total')).toBeUndefined();
    expect(f.get('outpost_agent_apply_duration_seconds')?.type).toBe('histogram');
    expect(m.ready()).toEqual({ ok: false, reason: 'no ruleset applied yet' });
  });

  test('applies, refusals, state, sync and held-back reach their series', async () => {
    let now = at(100).getTime();
    const m = createAgentMetrics(prom, { now: () => now });
    const o = fanOut([m.observer]);
    o.snapshotReceived({ revision: '41', hash: 'aa', source: 'relay', at: at(10) });
    o.applied({ revision: '41', hash: 'aa', source: 'relay', why: 'relay', durationMs: 38, ok: true, at: at(11) });
    o.applied({ revision: '42', hash: 'bb', source: 'relay', why: 'relay', durationMs: 2500, ok: false, error: 'nft: no', at: at(20) });
    o.refused({ reason: 'bad-signature', message: 'x', at: at(21) });
    o.refused({ reason: 'bad-signature', message: 'x', at: at(22) });
    o.refused({ reason: 'too-old', message: 'x', at: at(23) });
    o.stateChanged({ state: 'cached', since: at(24) });
    o.synced({ revision: '41', hash: 'aa', at: at(50) });
    o.heldBackChanged({ heldBack: { count: 3, items: [], since: at(5).toISOString() } as never, at: at(51) });
    const f = await scrape(m);
    expect(sampleValue(f, 'outpost_agent_applies_total', { result: 'ok' })).toBe(1);
    expect(sampleValue(f, 'outpost_agent_applies_total', { result: 'failed' })).toBe(1);
    expect(sampleValue(f, 'outpost_agent_apply_duration_seconds_count')).toBe(2);
    expect(sampleValue(f, 'outpost_agent_apply_duration_seconds_sum')).toBeCloseTo(2.538, 6);
    expect(sampleValue(f, 'outpost_agent_apply_duration_seconds_bucket', { le: '0.05' })).toBe(1);
    expect(sampleValue(f, 'outpost_agent_apply_duration_seconds_bucket', { le: '2.5' })).toBe(2);
    expect(sampleValue(f, 'outpost_agent_refusals_total', { reason: 'bad-signature' })).toBe(2);
    expect(sampleValue(f, 'outpost_agent_refusals_total', { reason: 'too-old' })).toBe(1);
    // The failed apply of 42 does not move the revision or the last-apply time.
    expect(sampleValue(f, 'outpost_agent_revision')).toBe(41);
    expect(sampleValue(f, 'outpost_agent_last_apply_timestamp_seconds')).toBe(at(11).getTime() / 1000);
    expect(sampleValue(f, 'outpost_agent_seconds_since_last_sync')).toBe(50);
    expect(sampleValue(f, 'outpost_agent_held_back_resources')).toBe(3);
    for (const s of STATUS_STATES) expect(sampleValue(f, 'outpost_agent_state', { state: s })).toBe(s === 'cached' ? 1 : 0);
    // Computed at scrape: time passes, the age grows.
    now = at(160).getTime();
    expect(sampleValue(await scrape(m), 'outpost_agent_seconds_since_last_sync')).toBe(110);
    expect(m.ready()).toEqual({ ok: true });
  });

  test('the error state makes it not ready, with the reason; leaving it makes it ready again', () => {
    const m = createAgentMetrics(prom);
    m.observer.applied!({ source: 'local', why: 'files', durationMs: 5, ok: true, at: at(1) });
    m.observer.stateChanged!({ state: 'error', reason: 'nft: table busy', since: at(2) });
    expect(m.ready()).toEqual({ ok: false, reason: 'error: nft: table busy' });
    m.observer.stateChanged!({ state: 'in-sync', since: at(3) });
    expect(m.ready()).toEqual({ ok: true });
  });

  test('local mode: no revision series; an apply of the files is the sync', async () => {
    const m = createAgentMetrics(prom, { now: () => at(30).getTime() });
    m.observer.applied!({ source: 'local', why: 'files', durationMs: 5, ok: true, at: at(10) });
    const f = await scrape(m);
    expect(f.get('outpost_agent_revision')?.samples).toEqual([]);
    expect(sampleValue(f, 'outpost_agent_seconds_since_last_sync')).toBe(20);
  });

  test('hostile values: a revision that is not a plain integer is not exported; odd refusal reasons are escaped, not injected', async () => {
    const m = createAgentMetrics(prom);
    m.observer.applied!({ revision: '1e999', source: 'relay', why: 'relay', durationMs: -5, ok: true, at: at(1) });
    m.observer.applied!({ revision: '99999999999999999999', source: 'relay', why: 'relay', durationMs: 1, ok: true, at: at(2) });
    const reason = 'x"} 1\noutpost_agent_revision 666\n#';
    m.observer.refused!({ reason, message: '', at: at(3) });
    const f = await scrape(m);
    expect(f.get('outpost_agent_revision')?.samples).toEqual([]);
    expect(sampleValue(f, 'outpost_agent_refusals_total', { reason })).toBe(1);
    // A negative duration (clock step) is counted as 0, never as a negative sum.
    expect(sampleValue(f, 'outpost_agent_apply_duration_seconds_sum')).toBeCloseTo(0.001, 6);
  });

  test('per-policy counters are read at each scrape, and a policy gone from the table is gone from the metrics', async () => {
    let counts = [{ policy: 'default.web', direction: 'inbound', packets: 7 }, { policy: 'default.web', direction: 'outbound', packets: 2 }];
    const m = createAgentMetrics(prom, { policyPackets: async () => counts });
    let f = await scrape(m);
    expect(f.get('outpost_agent_policy_packets_total')?.type).toBe('counter');
    expect(sampleValue(f, 'outpost_agent_policy_packets_total', { policy: 'default.web', direction: 'inbound' })).toBe(7);
    counts = [{ policy: 'default.ssh', direction: 'inbound', packets: 1 }];
    f = await scrape(m);
    expect(f.get('outpost_agent_policy_packets_total')?.samples.map((s) => s.labels)).toEqual([{ policy: 'default.ssh', direction: 'inbound' }]);
  });

  test('a throwing observer elsewhere in the fan-out does not stop the metrics', async () => {
    const m = createAgentMetrics(prom);
    const warned: unknown[] = [];
    const o = fanOut([{ applied: () => { throw new Error('disk full'); } }, m.observer], { warn: (x: unknown) => void warned.push(x) } as never);
    o.applied({ source: 'local', why: 'files', durationMs: 1, ok: true, at: at(1) });
    expect(sampleValue(await scrape(m), 'outpost_agent_applies_total', { result: 'ok' })).toBe(1);
    expect(warned.length).toBe(1);
  });

  test('two agents in one process (tests) keep separate registries', async () => {
    const a = createAgentMetrics(prom);
    const b = createAgentMetrics(prom);
    a.observer.refused!({ reason: 'r', message: '', at: at(1) });
    expect(sampleValue(await scrape(b), 'outpost_agent_refusals_total', { reason: 'r' })).toBeUndefined();
  });
});

test('held-back help does not claim every held-back resource has a version in force (a never-valid one has none), nor that only a relay holds back', async () => {
  const { createRelayMetrics } = await import('../../../src/observe/relay-metrics.ts');
  const agent = parseExposition(await createAgentMetrics(await loadProm()).registry.metrics()).get('outpost_agent_held_back_resources')!.help!;
  const relay = parseExposition(await createRelayMetrics(await loadProm()).registry.metrics()).get('outpost_relay_held_back_resources')!.help!;
  for (const help of [agent, relay]) {
    expect(help).toContain('held back as invalid');
    expect(help).toMatch(/never valid/);
  }
  expect(agent).not.toMatch(/^Resources the relay /);
});
