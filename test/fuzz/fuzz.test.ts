/**
 * Hostile inputs at a small scale (the reliability script runs thousands more at the issue's
 * sizes): every parser refuses with a reason or accepts, never throws, and never accepts a
 * forged snapshot. A failure names the seed or attack that reproduces it.
 */
import { describe, expect, test } from 'bun:test';
import { SMALL } from './hostile-inputs.ts';
import { fuzzEtcdValues, fuzzManifests, fuzzSelectors, fuzzSnapshots, type Tally } from './run-fuzz.ts';

const check = (t: Tally) => {
  expect(t.defects).toEqual([]);
  expect(t.refused).toBeGreaterThan(0);
  expect(t.accepted + t.refused + t.empty).toBe(t.tried);
};

describe('hostile inputs (fuzz, small scale)', () => {
  test('manifests', () => check(fuzzManifests(400, 1_000, SMALL)), 60_000);
  test('etcd values', () => check(fuzzEtcdValues(400, 2_000, SMALL)), 60_000);
  test('selectors', () => check(fuzzSelectors(600, 3_000, SMALL)), 60_000);
  test('MQTT snapshot payloads: every layer of both envelopes is reached, none is passed through unchanged', () => {
    const t = fuzzSnapshots(400, 4_000, SMALL);
    check(t);
    // The v2 layers in decode order, then acceptance of what the fuzzer signed validly itself.
    const layers = ['malformed: envelope', 'bad-signature', 'malformed: header', 'wrong-node', 'malformed: deflate stream', 'malformed: inflation cap', 'hash-mismatch', 'malformed: not JSON', 'malformed: plan not canonical', 'malformed: plan schema', 'accepted'];
    expect(layers.filter((l) => !t.stages[l])).toEqual([]);
    expect(t.stages['unchanged'] ?? 0).toBeLessThan(t.tried / 50);
  }, 120_000);
});
