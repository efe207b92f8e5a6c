/** go-json: the encoding/json rules Calico's stored bytes depend on. */
import { describe, expect, test } from 'bun:test';
import { goMarshal, goMarshalIndent, goQuote, type Shape } from '../../../src/etcd/go-json.ts';

const S = { t: 'string' } as const;
const shape: Shape = {
  t: 'struct',
  fields: [
    { name: 'plain', shape: S },
    { name: 'opt', shape: S, omit: 'empty' },
    { name: 'list', shape: { t: 'slice', elem: S } },
    { name: 'optList', shape: { t: 'slice', elem: S }, omit: 'empty' },
    { name: 'ptr', shape: { t: 'ptr', elem: { t: 'bool' } }, omit: 'empty' },
    { name: 'inner', shape: { t: 'struct', fields: [{ name: 'x', shape: S, omit: 'empty' }] }, omit: 'empty' },
    { name: 'zero', shape: { t: 'struct', fields: [{ name: 'x', shape: S, omit: 'empty' }] }, omit: 'zero' },
    { name: 'm', shape: { t: 'map', elem: S }, omit: 'empty' },
    { name: 'f', shape: { t: 'ptr', elem: { t: 'float' } }, omit: 'empty' },
    { name: 'port', shape: { t: 'slice', elem: { t: 'port' } }, omit: 'empty' },
  ],
};

describe('goMarshal', () => {
  test('zero values: plain fields written, omitempty dropped, nil slices null, structs never omitted by omitempty', () => {
    expect(goMarshal({}, shape)).toBe('{"plain":"","list":null,"inner":{}}');
  });
  test('set values: a present false behind a pointer and a present empty list are kept as Go keeps them', () => {
    expect(goMarshal({ ptr: false, list: [], optList: [], zero: { x: 'y' }, opt: '' }, shape)).toBe('{"plain":"","list":[],"ptr":false,"inner":{},"zero":{"x":"y"}}');
  });
  test('declaration order, sorted maps (byte order), unknown fields dropped', () => {
    expect(goMarshal({ m: { b: '1', B: '2', a: '3', '10': '4', '9': '5' }, plain: 'p', extra: 1 }, shape)).toBe(
      '{"plain":"p","list":null,"inner":{},"m":{"10":"4","9":"5","B":"2","a":"3","b":"1"}}',
    );
  });
  test('floats as Go writes them; ports as numorstring writes them', () => {
    expect(goMarshal({ f: 1000000, port: [80, '80', '90:90', '1:2', 'http'] }, shape)).toContain('"f":1000000,"port":[80,80,90,"1:2","http"]');
    expect(goMarshal({ f: 1e21 }, shape)).toContain('"f":1e+21');
    expect(goMarshal({ f: 1.5e-7 }, shape)).toContain('"f":1.5e-7');
  });
  test('HTML-safe escaping like Go: <, >, &, U+2028/9; control characters', () => {
    expect(goQuote('a && b <c> \u2028 "q" \\ \n\t\b\f\u0001')).toBe('"a \\u0026\\u0026 b \\u003cc\\u003e \\u2028 \\"q\\" \\\\ \\n\\t\\b\\f\\u0001"');
  });
  test('MarshalIndent layout', () => {
    expect(goMarshalIndent({ plain: 'p', list: [], m: {} }, shape)).toBe('{\n  "plain": "p",\n  "list": [],\n  "inner": {}\n}');
    expect(goMarshalIndent({ list: ['a'] }, shape)).toBe('{\n  "plain": "",\n  "list": [\n    "a"\n  ],\n  "inner": {}\n}');
  });
});
