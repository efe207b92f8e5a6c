/**
 * `nft -j list table` output reduced to what the structural read-back needs (verify.ts): every
 * item as nft lists it, except that a rule is only `{ rule: { chain } }`. At 25,000 rules the
 * listing is 11 MiB of text; parsed whole it is some 50 MiB of objects, and held whole (as nft's
 * output, its copies and the string) another 30 MiB, which made the audit the agent's peak.
 * ListingScanner takes the text a chunk at a time as nft writes it and parses only the small
 * items (table, chains, sets).
 *
 * The text is cut into its top-level items where nft starts one (`{"<type>": {"family": ` or
 * metainfo's `{"<type>": {"version": `). Inside a JSON string a quote is escaped, and no rule
 * expression has a "rule" key, so a rule's start cannot be mistaken; a nested expression that
 * happens to look like an item start (tproxy, snat) leaves a slice that is not one JSON value.
 * Any such surprise (or another output layout) makes the scan give up: the caller then parses
 * the whole text.
 */
const ITEM_START = /\{"(\w{1,64})": \{"(?:family|version)": /g;
const RULE_HEAD = /\{"rule": \{"family": "[a-z0-9]+", "table": "(?:[^"\\]|\\.)*", "chain": ("(?:[^"\\]|\\.)*")/y;
const HEAD = '{"nftables": [';
/** Longer than any item start ITEM_START matches: a start cut by a chunk boundary is found again. */
const START_MAX = 100;

export interface Listing {
  readonly nftables: unknown[];
}

export class ListingScanner {
  private text = '';
  /** Where the item in progress starts in `text` (-1: none found yet), its type, and where to search on. */
  private start = -1;
  private type = '';
  private searchFrom = 0;
  private readonly items: unknown[] = [];
  private failed = false;

  /** The next piece of the text. */
  push(piece: string): void {
    if (this.failed) return;
    this.text += piece;
    if (this.start < 0) {
      if (this.text.length < HEAD.length) return;
      if (!this.text.startsWith(HEAD)) return this.fail();
    }
    ITEM_START.lastIndex = Math.max(this.searchFrom, this.start < 0 ? HEAD.length : this.start + 1);
    for (let m = ITEM_START.exec(this.text); m !== null; m = ITEM_START.exec(this.text)) {
      if (this.start < 0) {
        if (m.index !== HEAD.length) return this.fail();
      } else {
        // Items are separated by ", ".
        if (this.text.slice(m.index - 2, m.index) !== ', ' || !this.take(this.start, m.index - 2)) return this.fail();
      }
      this.start = m.index;
      this.type = m[1]!;
    }
    if (this.start > 0) {
      // Only the item in progress is kept.
      this.text = this.text.slice(this.start);
      this.start = 0;
    }
    this.searchFrom = Math.max(0, this.text.length - START_MAX);
  }

  /** The reduced listing, or undefined when the text was not laid out as expected. */
  end(): Listing | undefined {
    if (this.failed || this.start < 0) return undefined;
    const text = this.text.trimEnd();
    if (!text.endsWith(']}') || !this.take(this.start, text.length - 2)) return undefined;
    return { nftables: this.items };
  }

  private take(from: number, to: number): boolean {
    try {
      if (this.type === 'rule') {
        RULE_HEAD.lastIndex = from;
        const m = RULE_HEAD.exec(this.text);
        if (!m || m.index + m[0].length > to || this.text.slice(to - 2, to) !== '}}') return false;
        this.items.push({ rule: { chain: JSON.parse(m[1]!) as string } });
      } else {
        this.items.push(JSON.parse(this.text.slice(from, to)));
      }
      return true;
    } catch {
      return false;
    }
  }

  private fail(): void {
    this.failed = true;
    this.text = '';
  }
}

/** The whole listing text reduced (ListingScanner), or parsed whole when it is laid out otherwise; null when it is not JSON. */
export function parseListing(text: string): Listing | null {
  const s = new ListingScanner();
  s.push(text);
  const r = s.end();
  if (r) return r;
  try {
    return JSON.parse(text) as Listing;
  } catch {
    return null;
  }
}
