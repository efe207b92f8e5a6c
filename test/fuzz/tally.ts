/** How the fuzzers count outcomes: accepted, refused with a reason, empty, or a defect. */

export interface Tally {
  readonly category: string;
  tried: number;
  accepted: number;
  refused: number;
  /** Inputs with nothing in them (an empty manifest): neither accepted nor refused. */
  empty: number;
  /** "seed N: what went wrong" for every throw, reasonless refusal or accepted forgery. */
  readonly defects: string[];
  slowestMs: number;
  slowest: string;
}

export const tally = (category: string): Tally => ({ category, tried: 0, accepted: 0, refused: 0, empty: 0, defects: [], slowestMs: 0, slowest: '' });

export function timed(t: Tally, label: string, fn: () => 'accepted' | 'refused' | 'empty' | string): void {
  const start = performance.now();
  let outcome: string;
  try {
    outcome = fn();
  } catch (e) {
    outcome = `threw ${(e as Error).name}: ${String((e as Error).message).slice(0, 160)}`;
  }
  const ms = performance.now() - start;
  t.tried++;
  if (ms > t.slowestMs) {
    t.slowestMs = ms;
    t.slowest = label;
  }
  if (outcome === 'accepted') t.accepted++;
  else if (outcome === 'refused') t.refused++;
  else if (outcome === 'empty') t.empty++;
  else t.defects.push(`${label}: ${outcome}`);
}
