/**
 * Text from outside (resource names, reasons, nft errors, other hosts' statuses) made safe to
 * print on an operator's terminal: C0/C1 controls (escape sequences, newlines that would fake
 * a line) and the bidirectional overrides (which reorder what the reader sees) become spaces.
 * Shared by `outpost status` and `outpost fleet`, so a fix to one reaches both.
 */
export const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, ' ');
