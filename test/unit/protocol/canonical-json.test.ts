import { describe, expect, test } from 'bun:test';
import { CanonicalJsonError, MAX_CANONICAL_DEPTH, canonicalBytes, canonicalJson } from '../../../src/protocol/canonical-json.ts';

describe('canonicalJson', () => {
  test('sorts object keys at every depth and leaves out all whitespace', () => {
    const value = { b: 1, a: [{ z: true, y: null }, 'x'], c: { e: 'e', d: -3 } };
    expect(canonicalJson(value)).toBe('{"a":[{"y":null,"z":true},"x"],"b":1,"c":{"d":-3,"e":"e"}}');
  });

  test('keeps array order, which is meaningful', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
  });

  test('orders keys by UTF-16 code unit, not by code point or locale', () => {
    // U+1F600 is the surrogate pair D83D DE00: it sorts before U+FF5A by code unit, after it by code point.
    const value = { '\uff5a': 1, '\u{1f600}': 2, a: 3, B: 4, 'é': 5 };
    expect(canonicalJson(value)).toBe('{"B":4,"a":3,"é":5,"😀":2,"ｚ":1}');
  });

  test('is JSON.stringify of an object whose keys were already sorted', () => {
    const sorted = { a: 'line\nbreak "quoted" \\ \u0001', b: [1, -2, 0], c: { d: false } };
    expect(canonicalJson(sorted)).toBe(JSON.stringify(sorted));
  });

  test('escapes lone surrogates, so the bytes are always valid UTF-8', () => {
    const text = canonicalJson({ s: 'a\ud800b' });
    expect(text).toBe('{"s":"a\\ud800b"}');
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(canonicalBytes({ s: '\udfff' }))).not.toThrow();
  });

  test('prints -0 as 0 and accepts the largest safe integers', () => {
    expect(canonicalJson([-0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])).toBe('[0,9007199254740991,-9007199254740991]');
  });

  test.each([
    ['a float', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an unsafe integer', 2 ** 53],
    ['undefined', undefined],
    ['a bigint', 1n],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a Date', new Date(0)],
    ['a Map', new Map()],
    ['a typed array', new Uint8Array(1)],
  ])('throws on %s, at the top, in an array and in an object', (_name, bad) => {
    expect(() => canonicalJson(bad)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson([1, bad])).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ ok: 1, bad })).toThrow(CanonicalJsonError);
  });

  test('names the path of the offending value', () => {
    expect(() => canonicalJson({ plan: { ports: [80, 80.5] } })).toThrow('$.plan.ports[1]: only safe integers are allowed, got 80.5');
  });

  test('accepts objects without a prototype and a "__proto__" key from JSON.parse', () => {
    const bare = Object.assign(Object.create(null) as object, { b: 1, a: 2 });
    expect(canonicalJson(bare)).toBe('{"a":2,"b":1}');
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":0}'))).toBe('{"__proto__":{"x":1},"a":0}');
  });

  test('refuses nesting deeper than the limit instead of overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_CANONICAL_DEPTH; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow('nested deeper than');
    let ok: unknown = 1;
    for (let i = 0; i < MAX_CANONICAL_DEPTH; i++) ok = [ok];
    expect(() => canonicalJson(ok)).not.toThrow();
  });

  test('a text is canonical exactly when re-encoding its parse gives it back', () => {
    const canonical = '{"a":[1,"x",{"b":null}],"c":true}';
    expect(canonicalJson(JSON.parse(canonical))).toBe(canonical);
    for (const other of ['{"c":true,"a":[1,"x",{"b":null}]}', '{"a": [1,"x",{"b":null}],"c":true}', '{"a":[1,"\\u0078",{"b":null}],"c":true}', '{"a":[1.0,"x",{"b":null}],"c":true}', '{"a":[1,"x",{"b":null}],"c":true,"c":true}']) {
      expect(canonicalJson(JSON.parse(other))).not.toBe(other);
    }
  });
});

describe('canonicalJson with a memo', () => {
  test('gives the same text, and reuses the text of objects shared two levels down', () => {
    const shared = { name: 'p', rules: [{ b: 2, a: 1 }] };
    const one = { node: 'a', policies: [shared, { name: 'q' }] };
    const two = { node: 'b', policies: [{ name: 'r' }, shared] };
    const memo = new WeakMap<object, string>();
    for (const v of [one, two, one]) expect(canonicalJson(v, memo)).toBe(canonicalJson(v));
    expect(memo.get(shared)).toBe('{"name":"p","rules":[{"a":1,"b":2}]}');
    // Keyed by identity: why a memoised object must never change afterwards.
    shared.name = 'changed';
    expect(canonicalJson(two, memo)).toContain('"name":"p"');
    expect(canonicalJson(two)).toContain('"name":"changed"');
  });

  test('still refuses what canonical JSON cannot say, with the path, and is not poisoned by it', () => {
    const memo = new WeakMap<object, string>();
    const bad = { policies: [{ x: 1.5 }] };
    expect(() => canonicalJson(bad, memo)).toThrow('$.policies[0].x: only safe integers');
    expect(memo.has(bad.policies[0]!)).toBeFalse();
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_CANONICAL_DEPTH; i++) deep = [deep];
    expect(() => canonicalJson({ a: [deep] }, memo)).toThrow('nested deeper than');
  });

  test('a list of strings (written in one engine call) is spelled and depth-limited like any value', () => {
    const members = ['198.18.0.1/32', 'a"b', 'c\\d', '\u0001\u001f', 'é', '\ud800', 'x'.repeat(50)];
    expect(canonicalJson(members)).toBe(`[${members.map((m) => JSON.stringify(m)).join(',')}]`);
    expect(canonicalJson({ b: members, a: [] })).toBe(`{"a":[],"b":${JSON.stringify(members)}}`);
    // A toJSON on the list is not called (nor on any other value), and a hole is still refused.
    expect(canonicalJson(Object.assign(['a'], { toJSON: () => 'nope' }))).toBe('["a"]');
    expect(() => canonicalJson(['a', , 'b'])).toThrow(CanonicalJsonError);
    let ok: unknown = ['s'];
    for (let i = 1; i < MAX_CANONICAL_DEPTH; i++) ok = [ok];
    expect(canonicalJson(ok)).toContain('"s"');
    expect(() => canonicalJson([ok])).toThrow('nested deeper than');
  });
});
