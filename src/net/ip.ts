// IP address and CIDR parsing for validation, written to accept exactly what Go's
// net.ParseIP / net.ParseCIDR accept (Calico validates with those), and to print
// networks the way Go's IPNet.String() does (Felix normalises failsafe nets that way).

export type IPVersion = 4 | 6;

export type ParsedIP = { version: IPVersion; bytes: Uint8Array };
export type ParsedCIDR = { version: IPVersion; ip: Uint8Array; prefix: number };

const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

/**
 * Four decimal parts of 1-3 digits, each at most 255, no leading zero (Go rejects those because
 * some parsers read them as octal). A character loop, not a regex: render and validation parse
 * every CIDR of a 10,000-rule node several times.
 */
function parseV4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 3 || (digits === 1 && value === 0)) return undefined;
      value = value * 10 + (c - 0x30);
      digits++;
      continue;
    }
    if (c !== 0x2e || digits === 0 || value > 255 || part === 4) return undefined;
    out[part++] = value;
    value = 0;
    digits = 0;
  }
  return part === 4 ? out : undefined;
}

function parseV6(s: string): Uint8Array | undefined {
  if (s.includes('%')) return undefined; // zones are not addresses
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string, mayEndWithV4: boolean): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i] ?? '';
      if (mayEndWithV4 && i === pieces.length - 1 && p.includes('.')) {
        const v4 = parseV4(p);
        if (!v4) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        continue;
      }
      if (!HEX_GROUP_RE.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
    return out;
  };
  const head = groups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1] ?? '', true) : [];
  if (!head || !tail) return undefined;
  let all: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    all = head;
  }
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** A plain IPv4 or IPv6 address (no prefix), or undefined. */
export function parseIP(s: string): ParsedIP | undefined {
  if (s.includes(':')) {
    const bytes = parseV6(s);
    return bytes ? { version: 6, bytes } : undefined;
  }
  const bytes = parseV4(s);
  return bytes ? { version: 4, bytes } : undefined;
}

/** "addr/prefix" only (like Go's net.ParseCIDR); the address part may have host bits set. */
export function parseCIDR(s: string): ParsedCIDR | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(s.slice(0, slash));
  if (!ip) return undefined;
  // 1-3 decimal digits (leading zeros allowed, as Go's ParseCIDR does).
  const digits = s.length - slash - 1;
  if (digits < 1 || digits > 3) return undefined;
  let prefix = 0;
  for (let i = slash + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    prefix = prefix * 10 + (c - 0x30);
  }
  if (prefix > (ip.version === 4 ? 32 : 128)) return undefined;
  return { version: ip.version, ip: ip.bytes, prefix };
}

/**
 * Parsed CIDRs by text. Validation, plan and render each parse every net of every rule, and a
 * large node repeats the same few nets thousands of times. Bounded (cleared when full) and only
 * for texts as short as an address can be, so hostile input cannot grow it. The results are
 * shared: callers never edit them (networkAddress copies).
 */
const parsed = new Map<string, ParsedCIDR | null>();
const PARSED_MAX = 16_384;
const PARSED_MAX_TEXT = 64;

/** A CIDR, or a bare address taken as a full-length prefix (Calico's ParseCIDROrIP). */
export function parseCIDROrIP(s: string): ParsedCIDR | undefined {
  if (s.length > PARSED_MAX_TEXT) return parseCIDROrIPUncached(s);
  let c = parsed.get(s);
  if (c === undefined) {
    c = parseCIDROrIPUncached(s) ?? null;
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(s, c);
  }
  return c ?? undefined;
}

function parseCIDROrIPUncached(s: string): ParsedCIDR | undefined {
  const cidr = parseCIDR(s);
  if (cidr) return cidr;
  if (s.includes('/')) return undefined;
  const ip = parseIP(s);
  return ip ? { version: ip.version, ip: ip.bytes, prefix: ip.version === 4 ? 32 : 128 } : undefined;
}

/** The address with host bits cleared. */
export function networkAddress(c: ParsedCIDR): Uint8Array {
  const out = new Uint8Array(c.ip);
  // Byte by byte: the partial byte masked, the ones after it cleared.
  const whole = c.prefix >> 3;
  const rest = c.prefix & 7;
  if (whole < out.length) {
    out[whole] = out[whole]! & ((0xff << (8 - rest)) & 0xff);
    out.fill(0, whole + 1);
  }
  return out;
}

export function isStrictlyMasked(c: ParsedCIDR): boolean {
  const net = networkAddress(c);
  for (let i = 0; i < net.length; i++) if (net[i] !== c.ip[i]) return false;
  return true;
}

/** Formats an address like Go: dotted quad, or RFC 5952 compressed lower-case IPv6. */
export function formatIP(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0);
  // Compress the longest run of at least two zero groups (the first one on a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += groups[i]!.toString(16);
  }
  return out;
}

/** The masked network in canonical form, e.g. "10.0.0.1/8" → "10.0.0.0/8". */
export function formatNetwork(c: ParsedCIDR): string {
  return `${formatIP(networkAddress(c))}/${c.prefix}`;
}
