/** Duration settings in the configuration files (maxSnapshotAge, confirmWindow, ...). */
/**
 * A duration setting: "0" or "off" (disabled, 0), or a whole number with a unit: ms, s, m, h, d
 * ("24h", "90s"). A bare number is refused: seconds or milliseconds would be a guess.
 */
export function parseDuration(text: string): number | Error {
  const t = text.trim();
  if (t === '0' || t === 'off') return 0;
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(t);
  if (!m) return new Error(`${JSON.stringify(text)} is not a duration: a whole number with ms, s, m, h or d (e.g. 24h), or 0/off`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
