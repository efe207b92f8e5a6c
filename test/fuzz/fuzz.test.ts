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
  test('MQTT snapshot payloads', () => check(fuzzSnapshots(300, 4_000, SMALL)), 60_000);
});
