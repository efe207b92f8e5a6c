/**
 * deepEqual decides whether the relay publishes a recomputed plan and whether the folder source
 * keeps a re-read resource's old object: a false "equal" would silently drop a change.
 */
import { describe, expect, test } from 'bun:test';
import { deepEqual } from '../../../src/calc/deep-equal.ts';

describe('deepEqual', () => {
  test('equal: same reference, key order, absent vs undefined key, nested', () => {
    const shared = { v4: ['198.18.0.1/32'] };
    expect(deepEqual(shared, shared)).toBeTrue();
    expect(deepEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBeTrue();
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBeTrue();
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBeTrue();
    expect(deepEqual([], [])).toBeTrue();
    expect(deepEqual(null, null)).toBeTrue();
  });

  test('different: a deep leaf, a missing or extra key, lengths, types, array vs object', () => {
    expect(deepEqual({ a: { b: [1, 2, 3] } }, { a: { b: [1, 2, 4] } })).toBeFalse();
    expect(deepEqual({ a: 1, b: 2 }, { a: 1 })).toBeFalse();
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBeFalse();
    expect(deepEqual({ a: 1, b: undefined }, { a: 1, c: 2 })).toBeFalse();
    expect(deepEqual([1, 2], [1, 2, 3])).toBeFalse();
    expect(deepEqual({ a: 1 }, { a: '1' })).toBeFalse();
    expect(deepEqual({ a: null }, { a: {} })).toBeFalse();
    expect(deepEqual([], {})).toBeFalse();
    expect(deepEqual({}, [])).toBeFalse();
    expect(deepEqual({ 0: 'x', length: 1 }, ['x'])).toBeFalse();
    expect(deepEqual(0, false)).toBeFalse();
    expect(deepEqual(null, {})).toBeFalse();
  });
});
