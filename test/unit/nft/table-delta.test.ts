import { describe, expect, test } from 'bun:test';
import { memberDiff, tableDelta } from '../../../src/nft/table-delta.ts';
import { TableWriter } from '../../../src/nft/table-writer.ts';
import { stampInMonitorLine, stampOf, tableStamp, STAMP_SET } from '../../../src/nft/stamp.ts';
import type { DesiredTable, TableChain, TableSet } from '../../../src/render/table-model.ts';

const hostSet = (members: string[], name = 's-a-4'): TableSet => ({ name, kind: 'host', family: 4, members });
const chain = (name: string, ...targets: string[]): TableChain => ({ name, rules: targets.map((t) => ({ expr: [{ jump: { target: t } }] })) });
const base: TableChain = { name: 'filter-input', base: { hook: 'input', prio: 0 }, rules: [{ expr: [{ jump: { target: 'pi-a' } }] }] };
const table = (sets: TableSet[], chains: TableChain[]): DesiredTable => ({ sets, chains: [base, ...chains] });
const verbs = (d: ReturnType<typeof tableDelta>) => (d === 'full' ? 'full' : d.commands.map((c) => `${Object.keys(c)[0]} ${Object.keys(Object.values(c)[0] as object)[0]}`));

describe('tableDelta', () => {
  test('members only: element delete then add, nothing else', () => {
    const a = table([hostSet(['1.1.1.1/32', '1.1.1.2/32'])], [chain('pi-a')]);
    const b = table([hostSet(['1.1.1.2/32', '1.1.1.3/32'])], [chain('pi-a')]);
    const d = tableDelta(a, b, Infinity);
    expect(verbs(d)).toEqual(['delete element', 'add element']);
    if (d === 'full') throw new Error('unreachable');
    expect(d.commands[0]).toEqual({ delete: { element: { family: 'inet', table: 'outpost', name: 's-a-4', elem: ['1.1.1.1'] } } });
    expect(d.commands[1]).toEqual({ add: { element: { family: 'inet', table: 'outpost', name: 's-a-4', elem: ['1.1.1.3'] } } });
  });

  test('nothing changed: no commands', () => {
    const a = table([hostSet(['1.1.1.1'])], [chain('pi-a')]);
    const b = table([hostSet(['1.1.1.1'])], [chain('pi-a')]);
    expect(verbs(tableDelta(a, b, Infinity))).toEqual([]);
  });

  test('a changed chain is flushed and refilled; new objects first, removed ones last and in a valid order', () => {
    const a = table([hostSet([]), hostSet([], 's-old-4')], [chain('pi-a', 'pi-old'), chain('pi-old', 'pi-older'), chain('pi-older')]);
    const b = table([hostSet([]), hostSet(['2.2.2.2'], 's-new-4')], [chain('pi-a', 'pi-new'), chain('pi-new')]);
    expect(verbs(tableDelta(a, b, Infinity))).toEqual([
      'add set', 'add chain', 'flush chain', 'add rule', 'flush chain', 'flush chain', 'delete chain', 'delete chain', 'delete set',
    ]);
  });

  test('a changed base chain hook or set type, or a delta as large as the table: full re-create', () => {
    const a = table([hostSet([])], []);
    expect(tableDelta(a, { sets: a.sets, chains: [{ ...base, base: { hook: 'input', prio: 10 } }] }, Infinity)).toBe('full');
    expect(tableDelta(a, table([{ ...hostSet([]), kind: 'prefix' }], []), Infinity)).toBe('full');
    const many = Array.from({ length: 50 }, (_, i) => `9.9.9.${i}/32`);
    expect(tableDelta(a, table([hostSet(many)], []))).toBe('full');
  });

  test('memberDiff walks two sorted lists', () => {
    expect(memberDiff(['a', 'c', 'e'], ['b', 'c', 'd', 'e', 'f'])).toEqual({ removed: ['a'], added: ['b', 'd', 'f'] });
    expect(memberDiff([], [])).toEqual({ removed: [], added: [] });
  });
});

describe('TableWriter', () => {
  test('full first, then deltas ending with the stamp; forget() makes the next write full', () => {
    const w = new TableWriter({ fullAbove: Infinity });
    const a = table([hostSet(['1.1.1.1/32'])], [chain('pi-a')]);
    const first = w.prepare(a)!;
    expect(first.kind).toBe('full');
    expect(first.document.nftables.slice(0, 3)).toEqual([
      { add: { table: { family: 'inet', name: 'outpost' } } },
      { delete: { table: { family: 'inet', name: 'outpost' } } },
      { add: { table: { family: 'inet', name: 'outpost' } } },
    ]);
    // The stamp goes last (computed from the chain keys found while serialising), as the same text.
    expect(first.document.nftables.at(-1)).toEqual({ add: { set: { family: 'inet', table: 'outpost', name: STAMP_SET, type: 'ipv4_addr', elem: [{ elem: { val: '0.0.0.1', comment: first.stamp } }] } } });
    expect([...first.json()].join('')).toBe(JSON.stringify(first.document));
    expect(first.stamp).toBe(tableStamp(a));
    w.committed(first);
    expect(w.prepare(table([hostSet(['1.1.1.1/32'])], [chain('pi-a')]))).toBeUndefined();
    const b = table([hostSet(['1.1.1.1/32', '1.1.1.2/32'])], [chain('pi-a')]);
    const next = w.prepare(b)!;
    expect(next.kind).toBe('delta');
    expect(next.stamp).toBe(tableStamp(b));
    expect(next.stamp).not.toBe(first.stamp);
    // Add-only (no delete in this delta): the older generation stays until a transaction deletes anyway.
    expect(next.document.nftables.slice(-2)).toEqual([
      { add: { element: { family: 'inet', table: 'outpost', name: 's-a-4', elem: ['1.1.1.2'] } } },
      { add: { element: { family: 'inet', table: 'outpost', name: STAMP_SET, elem: [{ elem: { val: '0.0.0.2', comment: next.stamp } }] } } },
    ]);
    expect(next.generations).toEqual([1, 2]);
    w.committed(next);
    const third = w.prepare(table([hostSet(['1.1.1.2/32'])], [chain('pi-a')]))!;
    expect(third.document.nftables.slice(-2)).toEqual([
      { delete: { element: { family: 'inet', table: 'outpost', name: STAMP_SET, elem: ['0.0.0.1', '0.0.0.2'] } } },
      { add: { element: { family: 'inet', table: 'outpost', name: STAMP_SET, elem: [{ elem: { val: '0.0.0.3', comment: third.stamp } }] } } },
    ]);
    expect(third.generations).toEqual([3]);
    w.forget();
    expect(w.prepare(b)!.kind).toBe('full');
  });

  test('the stamp is the newest generation in a set listing; anything else is no stamp', () => {
    const el = (val: string, comment: string) => ({ elem: { val, comment } });
    expect(stampOf({ nftables: [{ metainfo: {} }, { set: { name: STAMP_SET, elem: [el('0.0.1.0', 'new'), el('0.0.0.255', 'old')] } }] })).toBe('new');
    expect(stampOf(null)).toBeUndefined();
    expect(stampOf({ nftables: [{ set: { name: STAMP_SET, elem: [] } }] })).toBeUndefined();
    expect(stampOf({ nftables: [{ set: { name: STAMP_SET, elem: ['0.0.0.9', el('0.0.0.1', 'a')] } }] })).toBe('a');
    expect(stampOf({ nftables: [{ set: { name: 'other', elem: [el('0.0.0.1', 'a')] } }] })).toBeUndefined();
  });

  test('our own monitor lines are recognised by their stamp line only', () => {
    const s = 'a'.repeat(64);
    expect(stampInMonitorLine(`add element inet outpost stamp { 0.0.0.7 comment "${s}" }`)).toBe(s);
    expect(stampInMonitorLine(`add element inet outpost s-x-4 { 0.0.0.7 comment "${s}" }`)).toBeUndefined();
    expect(stampInMonitorLine(`add element inet outpost stamp { 0.0.0.7 comment "${s}" } x`)).toBeUndefined();
  });
});
