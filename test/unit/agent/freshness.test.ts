import { describe, expect, test } from 'bun:test';
import { describeAge, firstSnapshotProblem, freshness, isRefresh, msUntilStale } from '../../../src/agent/freshness.ts';
import { parseDuration } from '../../../src/config/duration.ts';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const DAY = 86_400_000;

describe('freshness', () => {
  test('fresh up to the maximum age, stale after it', () => {
    expect(freshness(NOW, NOW, DAY)).toBe('fresh');
    expect(freshness(NOW, NOW - DAY, DAY)).toBe('fresh');
    expect(freshness(NOW, NOW - DAY - 1, DAY)).toBe('stale');
  });

  test('no issue time is infinitely old; an issue time in the future is fresh (clock skew)', () => {
    expect(freshness(NOW, undefined, DAY)).toBe('stale');
    expect(freshness(NOW, NOW + 10 * DAY, DAY)).toBe('fresh');
  });

  test('a maximum age of 0 switches the rule off', () => {
    expect(freshness(NOW, undefined, 0)).toBe('fresh');
    expect(freshness(NOW, 0, 0)).toBe('fresh');
    expect(firstSnapshotProblem(NOW, 0, 0)).toBeUndefined();
    expect(msUntilStale(NOW, NOW, 0)).toBeUndefined();
  });
});

describe('an agent with no state', () => {
  test('accepts a snapshot issued within the maximum age', () => {
    expect(firstSnapshotProblem(NOW, NOW - 1000, DAY)).toBeUndefined();
  });

  test('refuses a genuine old one (a replay) and says how old it is', () => {
    const p = firstSnapshotProblem(NOW, NOW - 3 * DAY, DAY);
    expect(p).toContain('2026-11-28T12:00:00.000Z');
    expect(p).toContain('72 h ago');
    expect(p).toContain('maximum age of 24 h');
  });

  test('refuses one without an issue time', () => {
    expect(firstSnapshotProblem(NOW, undefined, DAY)).toContain('no issue time');
  });
});

describe('re-signatures', () => {
  const held = { revision: '42', hash: 'sha256:a', issuedAt: NOW };
  test('same revision and hash with a newer issue time refreshes', () => {
    expect(isRefresh(held, { ...held, issuedAt: NOW + 1 })).toBeTrue();
    expect(isRefresh({ ...held, issuedAt: undefined }, { ...held, issuedAt: NOW })).toBeTrue();
  });

  test('an older or equal issue time, or other content, does not', () => {
    expect(isRefresh(held, held)).toBeFalse();
    expect(isRefresh(held, { ...held, issuedAt: NOW - 1 })).toBeFalse();
    expect(isRefresh(held, { ...held, issuedAt: undefined })).toBeFalse();
    expect(isRefresh(held, { ...held, revision: '43', issuedAt: NOW + 1 })).toBeFalse();
    expect(isRefresh(held, { ...held, hash: 'sha256:b', issuedAt: NOW + 1 })).toBeFalse();
  });
});

describe('the stale deadline', () => {
  test('is just after issue time plus the maximum age, never negative', () => {
    expect(msUntilStale(NOW, NOW, 2000)).toBe(2001);
    expect(msUntilStale(NOW, NOW - 5000, 2000)).toBe(0);
    expect(msUntilStale(NOW, undefined, 2000)).toBe(0);
    // At the deadline the rule says stale.
    expect(freshness(NOW + 2001, NOW, 2000)).toBe('stale');
    expect(freshness(NOW + 2000, NOW, 2000)).toBe('fresh');
  });
});

describe('durations', () => {
  test('whole numbers with a unit, or 0/off', () => {
    expect(parseDuration('24h')).toBe(DAY);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2d')).toBe(2 * DAY);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('off')).toBe(0);
  });

  test('a bare number, a fraction, a negative or junk is refused', () => {
    for (const bad of ['86400', '1.5h', '-1h', 'h', '', '24 hours', '1e3s']) expect(parseDuration(bad)).toBeInstanceOf(Error);
  });

  test('ages read naturally in log lines', () => {
    expect(describeAge(2000)).toBe('2 s');
    expect(describeAge(1500)).toBe('1.5 s');
    expect(describeAge(900_000)).toBe('15 min');
    expect(describeAge(DAY)).toBe('24 h');
  });
});
