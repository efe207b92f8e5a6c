/**
 * The interfaces report as the relay receives it: anything a node (or anyone able to publish on
 * its topic) sends is decoded without throwing, and a refusal names the field and the reason.
 */
import { describe, expect, test } from 'bun:test';
import {
  MAX_ADDRESSES,
  MAX_ADDRESSES_PER_INTERFACE,
  MAX_INTERFACES,
  MAX_LABELS,
  MAX_REPORT_BYTES,
  decodeReport,
  encodeReport,
  uncountedReason,
  validateReport,
  type InterfacesReport,
} from '../../../src/autohep/report-schema.ts';

const good: InterfacesReport = { version: 1, node: 'gw-1', interfaces: [{ name: 'eth0', addresses: ['198.18.0.2', 'fd00::2'] }], labels: { site: 'north', 'example.com/rack': '12' } };
const bytes = (x: unknown) => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x));
const refusal = (x: unknown) => {
  const r = decodeReport(bytes(x));
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(x).slice(0, 200)}`);
  return r.message;
};
const withIface = (addresses: string[], name = 'eth0') => ({ ...good, interfaces: [{ name, addresses }] });

describe('interfaces report schema', () => {
  test('a good report decodes to itself and encodes canonically', () => {
    const r = decodeReport(bytes(good));
    expect(r).toEqual({ ok: true, report: good });
    const shuffled = { ...good, labels: { 'example.com/rack': '12', site: 'north' }, interfaces: [{ name: 'eth0', addresses: ['fd00::2', '198.18.0.2'] }] };
    expect(encodeReport(shuffled)).toBe(encodeReport(good));
    expect(decodeReport(bytes(encodeReport(good)))).toEqual({ ok: true, report: good });
  });

  test('an empty interface list and no labels are a valid report (a host with nothing to report)', () => {
    expect(validateReport({ version: 1, node: 'n', interfaces: [], labels: {} }).ok).toBe(true);
  });

  test('not JSON, not UTF-8, not an object, or oversized: refused with the reason', () => {
    expect(refusal('{')).toMatch(/^report is not UTF-8 JSON/);
    expect(decodeReport(new Uint8Array([0x7b, 0xff, 0x7d]))).toMatchObject({ ok: false, message: expect.stringMatching(/not UTF-8/) });
    expect(refusal('[]')).toMatch(/^report: the report must be an object with version, node, interfaces and labels/);
    expect(refusal('null')).toMatch(/^report: the report must be an object/);
    expect(refusal('"x"')).toMatch(/^report: the report must be an object/);
    const huge = new Uint8Array(MAX_REPORT_BYTES + 1).fill(0x20);
    expect(decodeReport(huge)).toEqual({ ok: false, message: `report is ${MAX_REPORT_BYTES + 1} bytes, over the limit of ${MAX_REPORT_BYTES}` });
  });

  test('wrong version, missing fields and unknown fields name the field', () => {
    expect(refusal({ ...good, version: 2 })).toBe('version: must be 1');
    const { labels: _l, ...noLabels } = good;
    expect(refusal(noLabels)).toBe('labels: is required');
    expect(refusal({ ...good, interfaces: [['eth0']] })).toMatch(/^interfaces\[0\]: each interface must be an object with name and addresses/);
    expect(refusal({ ...good, interfaces: [{ name: 'eth0' }] })).toBe('interfaces[0].addresses: is required');
    expect(refusal({ ...good, extra: 1 })).toBe('extra: unknown field');
    expect(refusal({ ...good, interfaces: [{ name: 'eth0', addresses: ['198.18.0.2'], mtu: 1500 }] })).toBe('interfaces[0].mtu: unknown field');
    expect(refusal({ ...good, interfaces: {} })).toBe('interfaces: must be a list');
  });

  test('bad node names are refused', () => {
    for (const node of ['', 'GW', 'a/b', 'a+b', '#', 'x'.repeat(254), 'a..b', '-a', 7]) {
      expect(refusal({ ...good, node })).toMatch(/^node: /);
    }
  });

  test('bad addresses: not IPs, prefixes, non-canonical spellings, loopback, link-local, multicast, unspecified, mapped', () => {
    const cases: [string, RegExp][] = [
      ['hello', /is not an IP address/],
      ['198.18.0.2/24', /is not an IP address/],
      ['198.18.0.256', /is not an IP address/],
      ['FD00::2', /not in canonical form \(expected "fd00::2"\)/],
      ['fd00:0:0::2', /not in canonical form/],
      ['fe80::1%eth0', /is not an IP address/],
      ['127.0.0.1', /is a loopback address/],
      ['127.255.0.9', /is a loopback address/],
      ['::1', /is a loopback address/],
      ['169.254.10.1', /is a link-local address/],
      ['fe80::1', /is a link-local address/],
      ['febf::1', /is a link-local address/],
      ['0.0.0.0', /is the unspecified address/],
      ['::', /is the unspecified address/],
      ['224.0.0.1', /is a multicast address/],
      ['ff02::1', /is a multicast address/],
      ['::ffff:198.18.0.2', /IPv4-mapped/],
    ];
    for (const [a, re] of cases) expect(`${a}: ${refusal(withIface([a]))}`).toMatch(new RegExp(`^${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: interfaces\\[0\\]\\.addresses\\[0\\]: .*${re.source}`));
    expect(refusal(withIface(['198.18.0.2', 5 as unknown as string]))).toBe('interfaces[0].addresses[1]: must be a string');
    // Just outside the never-counted ranges: fine.
    for (const a of ['126.255.255.255', '128.0.0.0', '169.253.255.255', 'fec0::1', '223.255.255.255', '::2']) expect(uncountedReason(a)).toBeUndefined();
  });

  test('interface names: Linux\'s rule, no duplicates, at least one address each', () => {
    for (const name of ['', 'x'.repeat(16), 'a/b', 'a:b', 'a b', '.', '..', 'é'.repeat(8), 'a\u0000']) {
      expect(refusal(withIface(['198.18.0.2'], name))).toMatch(/^interfaces\[0\]\.name: .*is not an interface name/);
    }
    for (const name of ['eth0', 'br-lan', 'wg0', 'enp0s31f6', 'vlan.100', 'x'.repeat(15), 'Tun_1@x']) expect(validateReport(withIface(['198.18.0.2'], name)).ok).toBe(true);
    expect(refusal({ ...good, interfaces: [{ name: 'eth0', addresses: ['198.18.0.2'] }, { name: 'eth0', addresses: ['198.18.0.3'] }] })).toBe('report: interfaces: "eth0" is listed twice');
    expect(refusal(withIface([]))).toBe('interfaces[0].addresses: an interface is reported only with at least one address');
  });

  test('huge lists are refused by count, not processed', () => {
    const many = (n: number, base = 0) => Array.from({ length: n }, (_, i) => `198.18.${(base + i) >> 8}.${(base + i) & 255}`);
    expect(refusal(withIface(many(MAX_ADDRESSES_PER_INTERFACE + 1)))).toBe(`interfaces[0].addresses: at most ${MAX_ADDRESSES_PER_INTERFACE} addresses per interface`);
    expect(validateReport(withIface(many(MAX_ADDRESSES_PER_INTERFACE))).ok).toBe(true);
    const ifaces = Array.from({ length: MAX_INTERFACES + 1 }, (_, i) => ({ name: `e${i}`, addresses: ['198.18.0.2'] }));
    expect(validateReport({ ...good, interfaces: ifaces })).toEqual({ ok: false, message: `interfaces: at most ${MAX_INTERFACES} interfaces` });
    const total = Array.from({ length: MAX_ADDRESSES / MAX_ADDRESSES_PER_INTERFACE + 1 }, (_, i) => ({ name: `e${i}`, addresses: many(MAX_ADDRESSES_PER_INTERFACE, i * MAX_ADDRESSES_PER_INTERFACE) }));
    expect(validateReport({ ...good, interfaces: total })).toEqual({ ok: false, message: `report: interfaces: ${MAX_ADDRESSES + MAX_ADDRESSES_PER_INTERFACE} addresses in all, at most ${MAX_ADDRESSES}` });
    // A flood of labels, and a payload over the byte limit: refused before anything else.
    const labels = Object.fromEntries(Array.from({ length: MAX_LABELS + 1 }, (_, i) => [`k${i}`, 'v']));
    expect(validateReport({ ...good, labels })).toEqual({ ok: false, message: `labels: at most ${MAX_LABELS} labels` });
    expect(decodeReport(bytes({ ...good, labels: { a: 'x'.repeat(MAX_REPORT_BYTES) } })).ok).toBe(false);
  });

  test('labels: Kubernetes rules, and the projectcalico.org/ prefix is reserved (no forging created-by)', () => {
    expect(refusal({ ...good, labels: { 'projectcalico.org/created-by': 'outpost-relay' } })).toMatch(/^labels\.projectcalico\.org\/created-by: label key "projectcalico.org\/created-by" is reserved/);
    expect(refusal({ ...good, labels: { 'a b': 'x' } })).toMatch(/^labels\.a b: label key "a b": /);
    expect(refusal({ ...good, labels: { a: 'x y' } })).toMatch(/^labels\.a: label value "x y": /);
    expect(refusal({ ...good, labels: { a: 'x'.repeat(64) } })).toMatch(/at most 63 characters/);
    expect(refusal({ ...good, labels: { a: 1 } })).toBe('labels.a: a label value must be a string');
    expect(refusal({ ...good, labels: ['a=b'] })).toMatch(/^labels: labels must be a map of label keys to values/);
    expect(validateReport({ ...good, labels: { a: '' } }).ok).toBe(true);
  });

  test('hostile JSON never throws: deep nesting, prototype keys, random bytes', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(decodeReport(bytes(deep)).ok).toBe(false);
    expect(decodeReport(bytes('{"__proto__":{"x":1},"version":1,"node":"n","interfaces":[],"labels":{}}')).ok).toBe(false);
    // A "__proto__" label key is never taken as a label (nor does it reach any prototype).
    const r = decodeReport(bytes('{"version":1,"node":"n","interfaces":[],"labels":{"__proto__":"x"}}'));
    expect(r.ok ? Object.keys(r.report.labels) : []).toEqual([]);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    let seed = 7;
    for (let i = 0; i < 500; i++) {
      const b = new Uint8Array(1 + (i % 97));
      for (let j = 0; j < b.length; j++) b[j] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 255;
      expect(() => decodeReport(b)).not.toThrow();
    }
  });
});
