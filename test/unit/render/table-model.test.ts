import { describe, expect, test } from 'bun:test';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fullDocument, fullDocumentJson, type DesiredTable } from '../../../src/render/table-model.ts';
import { createStamp } from '../../../src/nft/stamp.ts';
import { writePieces } from '../../../src/nft/memfd.ts';

const counter = { counter: null };
const TABLE: DesiredTable = {
  sets: [
    { name: 's-a-4', kind: 'host', family: 4, members: ['198.18.0.1/32', '198.18.0.2/32'] },
    { name: 's-a-4p', kind: 'prefix', family: 4, members: [] },
    { name: 'n-b-6', kind: 'port', family: 6, members: ['fd00::1 6 443'] },
  ],
  chains: [
    { name: 'filter-input', base: { hook: 'input', prio: 0 }, rules: [{ expr: [counter, { accept: null }] }] },
    { name: 'empty', rules: [] },
    {
      name: 'pi-"odd"\\name',
      rules: [
        { expr: [{ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 6 } }, counter], comment: 'policy "quoted" \\ back' },
        { expr: [counter], comment: `naïve ünïcödé ${'€'.repeat(80)}` }, // over 127 UTF-8 bytes: shortened
        { expr: [counter], comment: 'x'.repeat(200) },
        { expr: [{ drop: null }], comment: '' },
        { expr: [{ log: { prefix: '\u2028 \ud800 lone' } }] },
      ],
    },
  ],
};

describe('fullDocumentJson', () => {
  test('its pieces are exactly JSON.stringify(fullDocument(...)), with or without extra commands', () => {
    for (const extra of [[], [createStamp('ab'.repeat(32))]]) {
      expect([...fullDocumentJson(TABLE, extra)].join('')).toBe(JSON.stringify(fullDocument(TABLE, extra)));
    }
    const bare: DesiredTable = { sets: [], chains: [] };
    expect([...fullDocumentJson(bare)].join('')).toBe(JSON.stringify(fullDocument(bare)));
  });
});

describe('writePieces', () => {
  test('writes the concatenation as UTF-8, across chunk boundaries', () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-pieces-'));
    try {
      const pieces = Array.from({ length: 3000 }, (_, i) => `${i}:€${'y'.repeat(i % 997)}\n`);
      const file = join(dir, 'out');
      const fd = openSync(file, 'w');
      writePieces(fd, pieces);
      closeSync(fd);
      expect(readFileSync(file, 'utf8')).toBe(pieces.join(''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
