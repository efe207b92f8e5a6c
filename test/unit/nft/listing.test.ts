import { describe, expect, test } from 'bun:test';
import { ListingScanner, parseListing } from '../../../src/nft/listing.ts';
import { verifyListing } from '../../../src/nft/verify.ts';

/** JSON the way nft (jansson, no JSON_COMPACT) prints it: ", " and ": " separators. */
const nftJson = (v: unknown): string =>
  Array.isArray(v) ? `[${v.map(nftJson).join(', ')}]`
  : v !== null && typeof v === 'object' ? `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${nftJson(x)}`).join(', ')}}`
  : JSON.stringify(v);

const T = { family: 'inet', table: 'outpost' };
const rule = (chain: string, expr: unknown[], comment?: string) => ({ rule: { ...T, chain, handle: 7, ...(comment ? { comment } : {}), expr } });
const match = (right: unknown) => ({ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right } });
const LISTING = {
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'inet', name: 'outpost', handle: 3 } },
    { set: { family: 'inet', name: 's-a-4', table: 'outpost', type: 'ipv4_addr', handle: 1, elem: ['198.18.0.1', '198.18.0.2'] } },
    { set: { family: 'inet', name: 's-a-4p', table: 'outpost', type: 'ipv4_addr', handle: 2, flags: ['interval'], elem: [{ prefix: { addr: '198.18.1.0', len: 24 } }] } },
    { set: { family: 'inet', name: 'stamp', table: 'outpost', type: 'ipv4_addr', handle: 3, elem: [{ elem: { val: '0.0.0.1', comment: 'ab'.repeat(32) } }] } },
    { chain: { family: 'inet', table: 'outpost', name: 'filter-input', handle: 4, type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
    { chain: { family: 'inet', table: 'outpost', name: 'pi-"odd"\\name', handle: 5 } },
    rule('filter-input', [{ counter: { packets: 0, bytes: 0 } }, { jump: { target: 'pi-"odd"\\name' } }]),
    rule('pi-"odd"\\name', [match('@s-a-4'), { accept: null }], 'looks like {"rule": {"family": "inet", "table": "outpost", "chain": "x"'),
    rule('pi-"odd"\\name', [match({ set: ['198.18.9.1', '198.18.9.2'] }), { drop: null }]),
  ],
};
const reduced = (l: { nftables: Record<string, unknown>[] }) => ({ nftables: l.nftables.map((i) => ('rule' in i ? { rule: { chain: (i['rule'] as { chain: string }).chain } } : i)) });

describe('parseListing', () => {
  test("nft's layout: every item but the rules as listed, rules reduced to their chain", () => {
    expect(parseListing(`${nftJson(LISTING)}\n`)).toEqual(reduced(LISTING));
  });

  test('anything unexpected falls back to parsing the whole text, with the same verdicts', () => {
    const expected = { chains: new Map([['filter-input', 1], ['pi-"odd"\\name', 2]]), sets: ['s-a-4', 's-a-4p'], setSizes: new Map([['s-a-4', 2]]) };
    // Someone else's rule with an expression that looks like an item start (tproxy lists "family" first).
    const odd = { nftables: [...LISTING.nftables, rule('filter-input', [{ tproxy: { family: 'ip', addr: '198.18.0.9', port: 1 } }, { accept: null }])] };
    for (const [text, rules] of [[nftJson(odd), 3], [JSON.stringify(LISTING), 2], [nftJson(LISTING).replaceAll('", "table"', '",  "table"'), 2]] as const) {
      const l = parseListing(text) as { nftables: unknown[] };
      expect(l.nftables.filter((i) => (i as { rule?: unknown }).rule)).toHaveLength(rules + 1);
      expect(verifyListing(l, expected, ['stamp'])).toEqual(rules === 3 ? ['chain filter-input has 2 rules, expected 1'] : []);
    }
  });

  test('not JSON, or not a listing: null or no items', () => {
    expect(parseListing('')).toBeNull();
    expect(parseListing('{"nftables": [{"rule": {"family": "inet", "table": "outpost", "chain": "x"')).toBeNull();
    expect(parseListing('Error: No such file or directory')).toBeNull();
  });

  test('fed in chunks of any size, the scanner gives the same reduced listing', () => {
    const text = `${nftJson(LISTING)}\n`;
    for (const size of [1, 2, 3, 7, 13, 64, 100, 1000]) {
      const s = new ListingScanner();
      for (let i = 0; i < text.length; i += size) s.push(text.slice(i, i + size));
      expect(s.end()).toEqual(reduced(LISTING));
    }
    const cut = new ListingScanner();
    cut.push(text.slice(0, text.length - 20));
    expect(cut.end()).toBeUndefined();
  });
});
