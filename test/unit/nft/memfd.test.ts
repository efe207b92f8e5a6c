// writePieces (memfd.ts) must write exactly the concatenation of its pieces as UTF-8, whatever
// their sizes: short pieces joined into runs, long ones on their own, multi-byte characters
// across the 256 KiB buffer's edge.
import { describe, expect, test } from 'bun:test';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePieces } from '../../../src/nft/memfd.ts';

function written(pieces: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-memfd-'));
  try {
    const file = join(dir, 'out');
    const fd = openSync(file, 'w');
    try {
      writePieces(fd, pieces);
    } finally {
      closeSync(fd);
    }
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('writePieces', () => {
  test('many short pieces, long pieces and multi-byte text come out as their concatenation', () => {
    const pieces: string[] = [];
    for (let i = 0; i < 40_000; i++) pieces.push(i % 7 === 0 ? `,{"comment":"é€😀 ${i}"}` : `,{"n":${i}}`);
    pieces.splice(5_000, 0, 'x'.repeat(300_000));
    pieces.splice(20_000, 0, '€'.repeat(100_000), '', '😀'.repeat(70_000));
    const text = written(pieces);
    expect(text.length).toBe(pieces.join('').length);
    expect(text).toBe(pieces.join(''));
  });

  test('nothing, and one empty piece, write nothing', () => {
    expect(written([])).toBe('');
    expect(written([''])).toBe('');
  });
});
