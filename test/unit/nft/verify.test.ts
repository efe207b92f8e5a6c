import { describe, expect, test } from 'bun:test';
import { verifyListing } from '../../../src/nft/verify.ts';

const listing = (items: unknown[]) => ({ nftables: [{ metainfo: {} }, { table: { family: 'inet', name: 'outpost' } }, ...items] });
const chain = (name: string) => ({ chain: { family: 'inet', table: 'outpost', name } });
const rule = (chainName: string) => ({ rule: { family: 'inet', table: 'outpost', chain: chainName, expr: [] } });
const set = (name: string) => ({ set: { family: 'inet', table: 'outpost', name } });

describe('verifyListing', () => {
  const expected = { chains: new Map([['filter-input', 2], ['fh-a', 1]]), sets: ['s-x-4'] };

  test('a listing that matches has no problems', () => {
    expect(verifyListing(listing([chain('filter-input'), chain('fh-a'), rule('filter-input'), rule('filter-input'), rule('fh-a'), set('s-x-4')]), expected)).toEqual([]);
  });

  test('missing table, chains, rules and sets, and foreign chains, are all reported', () => {
    expect(verifyListing(null, expected)).toEqual(['table inet outpost is missing']);
    expect(verifyListing(listing([chain('filter-input'), chain('extra'), rule('filter-input')]), expected)).toEqual([
      'chain filter-input has 1 rules, expected 2',
      'chain fh-a is missing',
      'unexpected chain extra',
      'set s-x-4 is missing',
    ]);
  });

  test('set sizes and foreign sets are reported; allowed extra sets (the stamp) are not', () => {
    const withElems = (name: string, n: number) => ({ set: { family: 'inet', table: 'outpost', name, elem: Array.from({ length: n }, (_, i) => `1.1.1.${i}`) } });
    const sized = { ...expected, setSizes: new Map([['s-x-4', 2]]) };
    const ok = [chain('filter-input'), chain('fh-a'), rule('filter-input'), rule('filter-input'), rule('fh-a')];
    expect(verifyListing(listing([...ok, withElems('s-x-4', 2), set('stamp')]), sized, ['stamp'])).toEqual([]);
    expect(verifyListing(listing([...ok, withElems('s-x-4', 1), set('stamp'), set('theirs')]), sized, ['stamp'])).toEqual([
      'set s-x-4 has 1 elements, expected 2',
      'unexpected set theirs',
    ]);
  });
});
