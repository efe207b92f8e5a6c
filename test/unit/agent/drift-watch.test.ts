import { describe, expect, test } from 'bun:test';
import { describeDrift, touchesOurTable } from '../../../src/agent/drift-watch.ts';

describe('drift-watch helpers', () => {
  test('only monitor lines about inet outpost count', () => {
    expect(touchesOurTable('add rule inet outpost filter-input accept')).toBe(true);
    expect(touchesOurTable('delete table inet outpost')).toBe(true);
    expect(touchesOurTable('add element inet outpost s-abc-4 { 1.2.3.4 }')).toBe(true);
    expect(touchesOurTable('add table inet other')).toBe(false);
    expect(touchesOurTable('add table inet outpost2')).toBe(false);
    expect(touchesOurTable('add table ip outpost')).toBe(false);
    expect(touchesOurTable('add rule inet other c comment "inet outpost "')).toBe(false);
    expect(touchesOurTable('# new generation 5 by process 1 (nft)')).toBe(false);
  });

  test('the log line says what was found', () => {
    expect(describeDrift([], true)).toBe('table inet outpost was deleted by someone else');
    expect(describeDrift(['add rule inet outpost filter-input accept', 'delete rule inet outpost d-fh handle 9', 'delete rule inet outpost d-fh handle 10'], false)).toBe(
      'table inet outpost was edited by someone else (add rule inet outpost filter-input accept; delete rule inet outpost d-fh)',
    );
  });
});
