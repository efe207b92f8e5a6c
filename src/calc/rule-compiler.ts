/**
 * Compiles one API rule (Calico's Rule/EntityRule) into the plan's rule form: protocols as
 * numbers, nets canonical, selectors resolved to set ids, ports split into numeric ranges and
 * named-port sets.
 *
 * Review notes:
 * - A positive selector and a notSelector on the same side fold into ONE set
 *   "(sel) && !(notSel)"; a lone notSelector becomes a negative set match (Felix).
 * - Named ports are filtered by the side's positive selector, also for notPorts (Felix).
 * - namespaceSelector / serviceAccounts become label terms on the selector exactly as
 *   libcalico-go converts them (selector-conversion.ts): positive forms match only namespaced
 *   endpoints (never a HEP or GlobalNetworkSet), negative forms and global() match those too.
 * - `services` resolves through Kubernetes Services, which outpost does not have: such a side
 *   matches no known address.
 */
import type { EntityMatch, PlanRule } from '../plan/schema.ts';
import type { Selector } from '../selector/index.ts';
import { formatCidr, parseCidr } from '../net/cidr.ts';
import type { EntityRule, Rule } from '../model/rule.ts';
import { parsePort, protocolNumber } from './protocol.ts';
import { entitySelectorText } from './selector-conversion.ts';
import type { SetRegistry } from './set-registry.ts';

export interface CompileContext {
  readonly sets: Pick<SetRegistry, 'ipSet' | 'portSet'>;
  /** Parses a selector that validation already accepted. */
  readonly selector: (text: string) => Selector;
  readonly warn: (message: string) => void;
}

const isCatchAll = (n: string): boolean => parseCidr(n)?.len === 0;

function canonicalNets(nets: readonly string[] | undefined): string[] | undefined {
  if (!nets || nets.length === 0) return undefined;
  const out: string[] = [];
  for (const n of nets) {
    const c = parseCidr(n);
    if (c) out.push(formatCidr(c));
  }
  return out;
}

function positiveSelectorText(e: EntityRule, origin: string, ctx: CompileContext): string | undefined {
  if (e.services !== undefined) {
    ctx.warn(`${origin}: services only match Kubernetes service endpoints; this side matches no known address`);
    return '!all()';
  }
  const positive = entitySelectorText(e);
  if (positive === undefined) return undefined;
  // Felix folds the notSelector into a positive selector (rule_scanner.go: combineMatchesIfPossible).
  return e.notSelector && e.notSelector.trim() !== '' ? `(${positive}) && (!(${e.notSelector}))` : positive;
}

function compileEntity(e: EntityRule | undefined, protocol: number | undefined, origin: string, ctx: CompileContext): EntityMatch {
  if (!e) return {};
  const out: EntityMatch = {};
  const nets = canonicalNets(e.nets);
  const notNets = canonicalNets(e.notNets);
  if (nets) out.nets = nets;
  if (notNets) out.notNets = notNets;

  const posText = positiveSelectorText(e, origin, ctx);
  const pos = posText === undefined ? undefined : ctx.selector(posText);
  if (pos) out.set = ctx.sets.ipSet(pos);
  else if (e.notSelector && e.notSelector.trim() !== '') out.notSet = ctx.sets.ipSet(ctx.selector(e.notSelector));

  const split = (ports: readonly (string | number)[] | undefined) => {
    const ranges: [number, number][] = [];
    const named: string[] = [];
    for (const p of ports ?? []) {
      const parsed = parsePort(p);
      if (parsed.kind === 'range') ranges.push([parsed.range[0], parsed.range[1]]);
      else named.push(parsed.name);
    }
    return { ranges, named };
  };
  const ports = split(e.ports);
  const notPorts = split(e.notPorts);
  if (ports.ranges.length) out.ports = ports.ranges;
  if (ports.named.length) out.namedPortSet = ctx.sets.portSet(pos, ports.named, protocol);
  if (notPorts.ranges.length) out.notPorts = notPorts.ranges;
  if (notPorts.named.length) out.notNamedPortSet = ctx.sets.portSet(pos, notPorts.named, protocol);
  return out;
}

/** The compiled rule, or null when Felix would drop it (a negated catch-all net). */
export function compileRule(rule: Rule, origin: string, ctx: CompileContext): PlanRule | null {
  const notNets = [...(rule.source?.notNets ?? []), ...(rule.destination?.notNets ?? [])];
  if (notNets.some(isCatchAll)) {
    ctx.warn(`${origin}: notNets contains a catch-all CIDR; rule dropped as Felix does`);
    return null;
  }
  const protocol = rule.protocol === undefined ? undefined : protocolNumber(rule.protocol);
  const out: PlanRule = {
    action: rule.action,
    src: compileEntity(rule.source, protocol, origin, ctx),
    dst: compileEntity(rule.destination, protocol, origin, ctx),
    origin,
  };
  // A protocol *name* of one family fixes the rule's family, as Felix's rule conversion does
  // (ipVersionToProtoIPVersion); a protocol number does not.
  const family = rule.ipVersion ?? (rule.protocol === 'ICMP' ? 4 : rule.protocol === 'ICMPv6' ? 6 : undefined);
  if (family !== undefined) out.ipVersion = family;
  if (protocol !== undefined) out.protocol = protocol;
  if (rule.notProtocol !== undefined) out.notProtocol = protocolNumber(rule.notProtocol);
  if (rule.icmp?.type !== undefined) out.icmp = rule.icmp.code === undefined ? { type: rule.icmp.type } : { type: rule.icmp.type, code: rule.icmp.code };
  if (rule.notICMP?.type !== undefined) out.notICMP = rule.notICMP.code === undefined ? { type: rule.notICMP.type } : { type: rule.notICMP.type, code: rule.notICMP.code };
  return out;
}
