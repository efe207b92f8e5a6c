/**
 * `nft -j list table` output reduced to what the structural read-back needs (verify.ts): every
 * item as nft lists it, except that a rule is only `{ rule: { chain } }`. At 25,000 rules the
 * listing is 11 MiB of text; parsed whole it is some 50 MiB of objects, which made the audit the
 * agent's peak. Here only the small items (table, chains, sets) are parsed.
 *
 * The text is cut into its top-level items where nft starts one (`{"<type>": {"family": ` or
 * metainfo's `{"<type>": {"version": `). Inside a JSON string a quote is escaped, and no rule
 * expression has a "rule" key, so a rule's start cannot be mistaken; a nested expression that
 * happens to look like an item start (tproxy, snat) leaves a slice that is not one JSON value, and
 * any such surprise (or another output layout) falls back to parsing the whole text.
 */
const ITEM_START = /\{"(\w+)": \{"(?:family|version)": /g;
const RULE_HEAD = /\{"rule": \{"family": "[a-z0-9]+", "table": "(?:[^"\\]|\\.)*", "chain": ("(?:[^"\\]|\\.)*")/y;
const HEAD = '{"nftables": [';

export function parseListing(text: string): { nftables: unknown[] } | null {
  try {
    return summarize(text) ?? (JSON.parse(text) as { nftables: unknown[] });
  } catch {
    return null;
  }
}

function summarize(text: string): { nftables: unknown[] } | undefined {
  if (!text.startsWith(HEAD)) return undefined;
  const end = text.trimEnd();
  if (!end.endsWith(']}')) return undefined;
  const last = end.length - 2;
  const starts: { at: number; type: string }[] = [];
  ITEM_START.lastIndex = HEAD.length;
  for (let m = ITEM_START.exec(text); m !== null; m = ITEM_START.exec(text)) starts.push({ at: m.index, type: m[1]! });
  if (!starts.length || starts[0]!.at !== HEAD.length) return undefined;
  const items: unknown[] = [];
  try {
    for (let i = 0; i < starts.length; i++) {
      const { at, type } = starts[i]!;
      const next = i + 1 < starts.length ? starts[i + 1]!.at : last;
      // Items are separated by ", "; the last one ends where the array does.
      const stop = i + 1 < starts.length ? next - 2 : next;
      if (i + 1 < starts.length && text.slice(stop, next) !== ', ') return undefined;
      if (type === 'rule') {
        RULE_HEAD.lastIndex = at;
        const m = RULE_HEAD.exec(text);
        if (!m || text.slice(stop - 2, stop) !== '}}') return undefined;
        items.push({ rule: { chain: JSON.parse(m[1]!) as string } });
      } else {
        items.push(JSON.parse(text.slice(at, stop)));
      }
    }
  } catch {
    return undefined;
  }
  return { nftables: items };
}
