/**
 * A small nft evaluator for the rendered `inet outpost` table (render/table-model.ts), used as an
 * independent oracle for explain: it knows nothing of plans, tiers or HEPs, only the expressions
 * and statements render/expr.ts emits, walked as the kernel walks them (hooks in order, jump /
 * goto / return, marks, notrack, base chain policy accept).
 */
import type { NftExpr } from '../../../src/nft/json-types.ts';
import type { DesiredTable, TableChain, TableSet } from '../../../src/render/table-model.ts';
import { cidrContains, parseCidr, parseIp } from '../../../src/net/cidr.ts';
import type { Packet } from '../../../src/explain/engine.ts';

interface State {
  mark: number;
  ct: 'new' | 'established' | 'invalid' | 'untracked';
  iif: string;
  oif: string;
}

type Verdict = 'accept' | 'drop' | 'return' | 'continue';

export class NftInterpreter {
  private readonly chains: Map<string, TableChain>;
  private readonly sets: Map<string, TableSet>;

  constructor(table: DesiredTable) {
    this.chains = new Map(table.chains.map((c) => [c.name, c]));
    this.sets = new Map(table.sets.map((s) => [s.name, s]));
  }

  private pk!: Packet;
  private family!: 4 | 6;

  verdict(pk: Packet): 'allow' | 'deny' {
    this.pk = pk;
    this.family = pk.src.includes(':') ? 6 : 4;
    const st: State = { mark: 0, ct: pk.ct ?? 'new', iif: '', oif: '' };
    const hooks =
      pk.direction === 'in' ? ['raw-prerouting', 'mangle-prerouting', 'filter-input']
      : pk.direction === 'out' ? ['raw-output', 'filter-output']
      : ['raw-prerouting', 'mangle-prerouting', 'filter-forward'];
    st.iif = pk.direction === 'out' ? '' : pk.iface;
    st.oif = pk.direction === 'out' ? pk.iface : pk.direction === 'forward' ? pk.outIface ?? '' : '';
    for (const h of hooks) if (this.runBase(h, st) === 'drop') return 'deny';
    return 'allow';
  }

  private runBase(name: string, st: State): 'accept' | 'drop' {
    const v = this.runChain(name, st, 0);
    return v === 'drop' ? 'drop' : 'accept';
  }

  /** 'return'/'continue' mean the chain ended without a verdict. */
  private runChain(name: string, st: State, depth: number): Verdict {
    if (depth > 20) throw new Error('chain loop');
    const chain = this.chains.get(name);
    if (!chain) throw new Error(`no chain ${name}`);
    for (const rule of chain.rules) {
      const v = this.runRule(rule.expr, st, depth);
      if (v === 'continue') continue;
      return v;
    }
    return 'return';
  }

  private runRule(exprs: readonly NftExpr[], st: State, depth: number): Verdict {
    for (const e of exprs) {
      const o = e as Record<string, unknown>;
      if ('match' in o) {
        if (!this.match(o.match as { op: string; left: unknown; right: unknown }, st)) return 'continue';
      } else if ('counter' in o || 'log' in o) {
        // no effect on the verdict
      } else if ('mangle' in o) {
        const m = o.mangle as { value: Record<string, [unknown, number]> };
        if ('|' in m.value) st.mark = (st.mark | m.value['|']![1]) >>> 0;
        else st.mark = (st.mark & m.value['&']![1]) >>> 0;
      } else if ('notrack' in o) st.ct = 'untracked';
      else if ('accept' in o) return 'accept';
      else if ('drop' in o) return 'drop';
      else if ('return' in o) return 'return';
      else if ('jump' in o) {
        const v = this.runChain((o.jump as { target: string }).target, st, depth + 1);
        if (v === 'accept' || v === 'drop') return v;
      } else if ('goto' in o) {
        const v = this.runChain((o.goto as { target: string }).target, st, depth + 1);
        return v === 'accept' || v === 'drop' ? v : 'return';
      } else throw new Error(`unknown expression ${JSON.stringify(e)}`);
    }
    return 'continue';
  }

  private value(left: unknown, st: State): unknown {
    const l = left as Record<string, unknown>;
    const pk = this.pk;
    if ('meta' in l) {
      const key = (l.meta as { key: string }).key;
      if (key === 'nfproto') return this.family === 4 ? 'ipv4' : 'ipv6';
      if (key === 'l4proto') return pk.protocol;
      if (key === 'iifname') return st.iif;
      if (key === 'oifname') return st.oif;
      if (key === 'mark') return st.mark;
    }
    if ('&' in l) return ((this.value((l['&'] as unknown[])[0], st) as number) & ((l['&'] as number[])[1] as number)) >>> 0;
    if ('ct' in l) return st.ct;
    if ('payload' in l) {
      const { protocol, field } = l.payload as { protocol: string; field: string };
      if (protocol === 'ip' || protocol === 'ip6') {
        if ((protocol === 'ip') !== (this.family === 4)) return undefined;
        return field === 'saddr' ? pk.src : pk.dst;
      }
      if (protocol === 'th') return field === 'sport' ? pk.srcPort : pk.dstPort;
      if (protocol === 'icmp' || protocol === 'icmpv6') {
        const want = protocol === 'icmp' ? [1, 4] : [58, 6];
        if (pk.protocol !== want[0] || this.family !== want[1]) return undefined;
        return field === 'type' ? pk.icmpType ?? (pk.protocol === 1 ? 8 : 128) : pk.icmpCode ?? 0;
      }
    }
    if ('concat' in l) return (l.concat as unknown[]).map((x) => this.value(x, st));
    throw new Error(`unknown left ${JSON.stringify(left)}`);
  }

  private elemHas(elem: unknown, v: unknown): boolean {
    if (v === undefined) return false;
    if (typeof elem === 'object' && elem !== null) {
      const o = elem as Record<string, unknown>;
      if ('prefix' in o) {
        const { addr, len } = o.prefix as { addr: string; len: number };
        return this.addrIn(`${addr}/${len}`, v as string);
      }
      if ('range' in o) {
        const [a, b] = o.range as [number, number];
        return typeof v === 'number' && v >= a && v <= b;
      }
    }
    if (typeof elem === 'string' && typeof v === 'string' && parseIp(elem)) return this.addrIn(elem, v);
    return elem === v;
  }

  private addrIn(net: string, addr: string): boolean {
    const n = parseCidr(net);
    const a = parseCidr(addr);
    return !!n && !!a && cidrContains(n, a);
  }

  private setHas(set: TableSet, v: unknown): boolean {
    if (v === undefined) return false;
    if (set.kind === 'port') {
      const [a, p, port] = v as [string, number, number];
      if (a === undefined || port === undefined) return false;
      return set.members.some((m) => {
        const [ip, proto, n] = m.split(' ');
        return Number(proto) === p && Number(n) === port && this.addrIn(ip!, a);
      });
    }
    return set.members.some((m) => this.addrIn(m, v as string));
  }

  private match(m: { op: string; left: unknown; right: unknown }, st: State): boolean {
    const v = this.value(m.left, st);
    const r = m.right;
    let hit: boolean;
    if (typeof r === 'string' && r.startsWith('@')) {
      const set = this.sets.get(r.slice(1));
      if (!set) throw new Error(`no set ${r}`);
      hit = this.setHas(set, v);
    } else if (Array.isArray(r)) {
      // ct state bits: 'in' = any of them
      hit = r.some((x) => (x === 'related' ? false : x === v));
    } else if (typeof r === 'object' && r !== null && 'set' in r) {
      hit = (r as { set: unknown[] }).set.some((e) => this.elemHas(e, v));
    } else hit = this.elemHas(r, v);
    // A payload that is not there (wrong family or protocol) matches neither == nor != (nft's
    // protocol dependency).
    if (v === undefined && (m.left as Record<string, unknown>).payload !== undefined) {
      const proto = ((m.left as { payload: { protocol: string } }).payload.protocol);
      if (proto !== 'th') return false;
    }
    return m.op === '!=' ? !hit : hit;
  }
}
