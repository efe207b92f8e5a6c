/**
 * Printing the demo's results: after each step the cells that changed, and at the end one
 * table with a column per step. A cell where the packets disagree with what the policies say
 * (scenario.ts) is marked with "!" and makes the demo fail.
 */
import { STEPS, type Flow } from './scenario.ts';

const word = (ok: boolean) => (ok ? 'allowed' : 'DENIED');
const expected = (f: Flow, step: number) => f.expect[step] === 'A';
/** Padded so the table's columns line up; `label(f, false)` for prose and JSON keys. */
export const label = (f: Flow, aligned = true) => (aligned ? `${f.from.padEnd(8)} → ${f.to.padEnd(3)} ${f.what}` : `${f.from} → ${f.to} ${f.what}`);
const LABEL_WIDTH = 32;

/** "DENIED!" when the kernel disagrees with the scenario. */
const cell = (f: Flow, step: number, ok: boolean) => `${word(ok)}${ok === expected(f, step) ? '' : '!'}`;

export function mismatches(flows: readonly Flow[], step: number, results: readonly boolean[]): string[] {
  return flows.flatMap((f, i) =>
    results[i] === expected(f, step) ? [] : [`${STEPS[step]!.head}: ${label(f, false)} was ${word(results[i]!)}, the policies say ${word(expected(f, step))}`],
  );
}

/** The first step prints every cell; later ones only what changed since the one before. */
export function stepLines(flows: readonly Flow[], step: number, results: readonly boolean[], previous?: readonly boolean[]): string[] {
  const lines: string[] = [];
  flows.forEach((f, i) => {
    const now = results[i]!;
    if (previous && previous[i] === now && now === expected(f, step)) return;
    const from = previous ? `${word(previous[i]!)} → ` : '';
    lines.push(`    ${label(f).padEnd(LABEL_WIDTH)} ${from}${cell(f, step, now)}`);
  });
  if (lines.length === 0) lines.push('    no change: every connection is allowed or denied as before');
  return lines;
}

export function matrixLines(flows: readonly Flow[], columns: readonly (readonly boolean[])[]): string[] {
  const heads = STEPS.slice(0, columns.length).map((s, i) => `${i + 1}.${s.head}`);
  const width = Math.max(...heads.map((h) => h.length)) + 1;
  const pad = (s: string) => s.padEnd(width);
  const head = heads.map(pad);
  const lines = [`    ${''.padEnd(LABEL_WIDTH)} ${head.join('').trimEnd()}`];
  flows.forEach((f, i) => {
    const cells = columns.map((col, step) => pad(cell(f, step, col[i]!)));
    lines.push(`    ${label(f).padEnd(LABEL_WIDTH)} ${cells.join('').trimEnd()}`);
  });
  return lines;
}
