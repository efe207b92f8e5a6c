/** What the agent reports: which addresses count, the settings it is built from, and its bounds. */
import { describe, expect, test } from 'bun:test';
import { buildReport, parseExcludeSetting, parseLabelSetting, reportedAddresses } from '../../../src/autohep/interface-report.ts';
import { MAX_ADDRESSES, MAX_ADDRESSES_PER_INTERFACE, encodeReport, validateReport } from '../../../src/autohep/report-schema.ts';

const exclude = (...c: string[]) => {
  const r = parseExcludeSetting(c);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

describe('buildReport', () => {
  test('loopback, link-local (v4 and v6) and zone-scoped addresses are left out; interfaces with nothing left are not listed', () => {
    const { report, truncated } = buildReport({
      node: 'gw',
      labels: { site: 'north' },
      exclude: [],
      interfaces: [
        { name: 'lo', addresses: ['127.0.0.1', '::1'] },
        { name: 'eth0', addresses: ['198.18.0.2', 'fe80::1%eth0', 'fd00::2', '169.254.3.4'] },
        { name: 'eth1', addresses: ['fe80::2'] },
      ],
    });
    expect(report).toEqual({ version: 1, node: 'gw', interfaces: [{ name: 'eth0', addresses: ['198.18.0.2', 'fd00::2'] }], labels: { site: 'north' } });
    expect(truncated).toEqual([]);
    expect(validateReport(report).ok).toBe(true);
  });

  test('an address on lo that is not loopback counts (an anycast or service address is the host\'s)', () => {
    const { report } = buildReport({ node: 'gw', labels: {}, exclude: [], interfaces: [{ name: 'lo', addresses: ['127.0.0.1', '198.19.0.1'] }] });
    expect(report.interfaces).toEqual([{ name: 'lo', addresses: ['198.19.0.1'] }]);
  });

  test('autoHostEndpointExclude leaves out addresses in its CIDRs (both families), and only those', () => {
    const { report } = buildReport({
      node: 'gw',
      labels: {},
      exclude: exclude('198.18.8.0/24', 'fd00:8::/32', '198.18.0.9'),
      interfaces: [
        { name: 'eth0', addresses: ['198.18.0.2', '198.18.0.9'] },
        { name: 'wg0', addresses: ['198.18.8.1', 'fd00:8::1'] },
        { name: 'eth1', addresses: ['198.18.9.1', 'fd00:9::1'] },
      ],
    });
    expect(report.interfaces).toEqual([
      { name: 'eth0', addresses: ['198.18.0.2'] },
      { name: 'eth1', addresses: ['198.18.9.1', 'fd00:9::1'] },
    ]);
  });

  test('the same host in any order gives the same bytes; an interface listed once per family is merged', () => {
    const a = buildReport({ node: 'n', labels: { b: '2', a: '1' }, exclude: [], interfaces: [{ name: 'eth1', addresses: ['198.18.1.1'] }, { name: 'eth0', addresses: ['fd00::2', '198.18.0.2'] }] });
    const b = buildReport({ node: 'n', labels: { a: '1', b: '2' }, exclude: [], interfaces: [{ name: 'eth0', addresses: ['198.18.0.2'] }, { name: 'eth1', addresses: ['198.18.1.1'] }, { name: 'eth0', addresses: ['fd00::2', '198.18.0.2'] }] });
    expect(encodeReport(b.report)).toBe(encodeReport(a.report));
  });

  test('non-canonical spellings from the runtime are written canonically', () => {
    const { report } = buildReport({ node: 'n', labels: {}, exclude: [], interfaces: [{ name: 'eth0', addresses: ['FD00:0::2'] }] });
    expect(report.interfaces[0]!.addresses).toEqual(['fd00::2']);
  });

  test('a host over the report\'s bounds publishes a valid report and says what it left out', () => {
    const addrs = (n: number, third: number) => Array.from({ length: n }, (_, i) => `198.${18 + (third >> 8)}.${third & 255}.${i}`);
    const one = buildReport({ node: 'n', labels: {}, exclude: [], interfaces: [{ name: 'eth0', addresses: addrs(200, 1) }] });
    expect(one.report.interfaces[0]!.addresses.length).toBe(MAX_ADDRESSES_PER_INTERFACE);
    expect(one.truncated).toEqual([`interface eth0: ${200 - MAX_ADDRESSES_PER_INTERFACE} addresses over ${MAX_ADDRESSES_PER_INTERFACE}`]);
    expect(validateReport(one.report).ok).toBe(true);
    const ifaces = Array.from({ length: 20 }, (_, i) => ({ name: `e${String(i).padStart(2, '0')}`, addresses: addrs(MAX_ADDRESSES_PER_INTERFACE, i) }));
    const many = buildReport({ node: 'n', labels: {}, exclude: [], interfaces: ifaces });
    expect(many.report.interfaces.reduce((n, i) => n + i.addresses.length, 0)).toBe(MAX_ADDRESSES);
    expect(many.truncated.length).toBeGreaterThan(0);
    expect(validateReport(many.report).ok).toBe(true);
  });
});

describe('reportedAddresses (the HEP\'s expectedIPs)', () => {
  test('each address once, IPv4 first, numeric order', () => {
    const r = { version: 1 as const, node: 'n', labels: {}, interfaces: [{ name: 'b', addresses: ['198.18.0.10', 'fd00::2'] }, { name: 'a', addresses: ['198.18.0.9', '198.18.0.10', 'fd00::10'] }] };
    expect(reportedAddresses(r)).toEqual(['198.18.0.9', '198.18.0.10', 'fd00::2', 'fd00::10']);
  });
});

describe('settings', () => {
  test('labels: a map or key=value items; numbers and booleans from YAML become their text', () => {
    expect(parseLabelSetting({ site: 'north', rack: 12, ssd: true })).toEqual({ ok: true, value: { site: 'north', rack: '12', ssd: 'true' } });
    expect(parseLabelSetting(['site=north', 'example.com/tier = edge', 'empty='])).toEqual({ ok: true, value: { site: 'north', 'example.com/tier': 'edge', empty: '' } });
    expect(parseLabelSetting([])).toEqual({ ok: true, value: {} });
  });

  test('labels: every mistake is a plain sentence naming the item', () => {
    const msg = (x: unknown) => {
      const r = parseLabelSetting(x);
      return r.ok ? 'accepted' : r.message;
    };
    expect(msg(['site'])).toBe('"site" is not "key=value"');
    expect(msg(['=x'])).toMatch(/^label key "": /);
    expect(msg(['a b=x'])).toMatch(/^label key "a b": /);
    expect(msg(['site=no way'])).toMatch(/^label "site": value "no way" must be/);
    expect(msg(['projectcalico.org/created-by=me'])).toMatch(/is reserved/);
    expect(msg(['a=1', 'a=2'])).toBe('label key "a" is given twice, with different values');
    expect(msg({ a: { b: 1 } })).toBe('label "a": the value must be a string');
    expect(msg([3])).toBe('each item must be a "key=value" string, got 3');
    expect(msg('a=b')).toBe('must be a map of labels, or a list of "key=value"');
    expect(msg(Array.from({ length: 65 }, (_, i) => `k${i}=v`))).toBe('at most 64 labels');
  });

  test('exclude: CIDRs or addresses; anything else is named', () => {
    expect(parseExcludeSetting(['198.18.0.0/16', 'fd00::1']).ok).toBe(true);
    expect(parseExcludeSetting(['10.0.0.0/33'])).toEqual({ ok: false, message: '"10.0.0.0/33" is not a CIDR (such as 10.8.0.0/16) or an IP address' });
    expect(parseExcludeSetting(['vpn']).ok).toBe(false);
  });
});
