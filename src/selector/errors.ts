// Owns selector syntax errors: the exception the tokenizer and parser throw
// internally, and the human-readable rendering with a caret under the problem.

/** Thrown by the tokenizer/parser; converted to a result value at the public boundary. */
export class SelectorSyntaxError extends Error {
  constructor(
    message: string,
    /** 0-based UTF-16 offset into the selector text. */
    readonly position: number,
  ) {
    super(message);
    this.name = "SelectorSyntaxError";
  }
}

/** Describes one character for an error message, making invisible ones visible. */
export function describeChar(input: string, position: number): string {
  const cp = input.codePointAt(position);
  if (cp === undefined) return "end of input";
  if (cp === 0x0a) return "newline";
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0)) {
    return `character U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return `character '${String.fromCodePoint(cp)}'`;
}

// Long selectors (up to ~1 KiB in policies) would make the caret line useless
// on a terminal, so only a window around the problem is shown.
const WINDOW = 72;

/**
 * Renders an error as three lines: the message, the (possibly windowed) input
 * and a caret under `position`.
 */
export function formatSelectorError(input: string, error: string, position: number): string {
  const pos = Math.max(0, Math.min(Math.trunc(position) || 0, input.length));
  let start = 0;
  let end = input.length;
  if (end > WINDOW) {
    start = Math.max(0, Math.min(pos - WINDOW / 2, input.length - WINDOW));
    end = Math.min(input.length, start + WINDOW);
  }
  const prefix = start > 0 ? "…" : "";
  const suffix = end < input.length ? "…" : "";
  const shown = visible(input.slice(start, end));
  // Tabs are kept as tabs under the caret so terminals align both lines alike.
  const lead = [...visible(input.slice(start, pos))].map((ch) => (ch === "\t" ? "\t" : " ")).join("");
  return [
    `invalid selector at offset ${pos}: ${error}`,
    `  ${prefix}${shown}${suffix}`,
    `  ${prefix ? " " : ""}${lead}^`,
  ].join("\n");
}

// Control characters (notably the newline the parser rejects) would break the
// layout, so each one is replaced by a single visible placeholder.
function visible(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === "\t") out += ch;
    else if (cp === 0x0a) out += "\u2424";
    else if (cp < 0x20 || cp === 0x7f) out += "\uFFFD";
    else out += ch;
  }
  return out;
}
