/**
 * Property: for random plans, dispatches and packets, explain's verdict equals the verdict of the
 * table the renderer builds for that plan, evaluated by an nft interpreter that knows nothing of
 * plans (nft-interpreter.ts). Seeded: a failure prints the seed and the case.
 */
import { describe, expect, test } from 'bun:test';
import { resolveDispatch, type HostInterface } from '../../../src/calc/dispatch.ts';
import { explainPacket, type Packet } from '../../../src/explain/engine.ts';
import type { EndpointPlan, EntityMatch, NodePlan, PlanPolicy, PlanRule, TierPlan } from '../../../src/plan/schema.ts';
import { renderRuleset, DEFAULT_RENDER_OPTIONS } from '../../../src/render/ruleset.ts';
import { prng, type Rand } from '../../lab/prng.ts';
import { NftInterpreter } from './nft-interpreter.ts';

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const maybe = (r: Rand, p = 0.3): boolean => r() < p;

const ADDR4 = ['198.18.0.1', '198.18.0.5', '198.18.1.1', '198.18.1.7', '198.19.255.254', '10.0.0.1'];
const ADDR6 = ['fd00::1', 'fd00::5', 'fd00:1::1', 'fd00:1::7'];
const NETS = ['198.18.0.0/24', '198.18.0.5/32', '198.18.0.0/15', '0.0.0.0/0', 'fd00::/64', 'fd00:1::/64', 'fd00::5/128', '::/0', '198.18.1.0/25'];
const IFACES = ['eth0', 'eth1', 'lo', 'eth2'];
const PORTS = [22, 53, 80, 443, 8080, 32768, 60999];

function entity(r: Rand, proto: number | undefined, sets: { ip: string[]; port: string[] }): EntityMatch {
  const e: { -readonly [K in keyof EntityMatch]: EntityMatch[K] } = {};
  if (maybe(r)) e.nets = Array.from({ length: 1 + Math.floor(r() * 2) }, () => pick(r, NETS));
  if (maybe(r, 0.15)) e.notNets = [pick(r, NETS)];
  if (maybe(r, 0.25)) e.set = pick(r, sets.ip);
  else if (maybe(r, 0.15)) e.notSet = pick(r, sets.ip);
  const ported = proto === 6 || proto === 17;
  if (ported && maybe(r)) {
    const a = pick(r, PORTS);
    e.ports = [maybe(r) ? [a, a + 100] : [a, a]];
  }
  if (ported && maybe(r, 0.15)) e.notPorts = [[pick(r, PORTS), pick(r, PORTS)].sort((x, y) => x - y) as [number, number]];
  if (ported && maybe(r, 0.15)) e.namedPortSet = pick(r, sets.port);
  if (ported && maybe(r, 0.1)) e.notNamedPortSet = pick(r, sets.port);
  return e;
}

function rule(r: Rand, i: number, sets: { ip: string[]; port: string[] }): PlanRule {
  const action = pick(r, ['Allow', 'Deny', 'Pass', 'Log', 'Allow', 'Deny'] as const);
  const protocol = maybe(r, 0.7) ? pick(r, [6, 17, 1, 58]) : undefined;
  const out: { -readonly [K in keyof PlanRule]: PlanRule[K] } = { action, src: entity(r, protocol, sets), dst: entity(r, protocol, sets), origin: `r${i}` };
  if (protocol !== undefined) out.protocol = protocol;
  else if (maybe(r, 0.2)) out.notProtocol = pick(r, [6, 17, 1]);
  if (maybe(r, 0.2)) out.ipVersion = pick(r, [4, 6] as const);
  if ((protocol === 1 || protocol === 58) && maybe(r, 0.5)) {
    const m = { type: pick(r, [0, 8, 128, 129, 3]), ...(maybe(r) ? { code: pick(r, [0, 1]) } : {}) };
    if (maybe(r)) out.notICMP = m;
    else out.icmp = m;
  }
  return out;
}

function randomPlan(r: Rand): { plan: NodePlan; interfaces: HostInterface[] } {
  const ipSets = Array.from({ length: 3 }, (_, i) => ({
    id: `s-${i}`, selector: `s${i}`,
    v4: [...new Set(Array.from({ length: Math.floor(r() * 3) }, () => pick(r, ['198.18.0.5/32', '198.18.1.0/24', '10.0.0.1/32', '198.18.0.0/16'])))].sort(),
    v6: [...new Set(Array.from({ length: Math.floor(r() * 2) }, () => pick(r, ['fd00::5/128', 'fd00:1::/64'])))].sort(),
  }));
  const portSets = Array.from({ length: 2 }, (_, i) => ({
    id: `n-${i}`, selector: `n${i}`, ports: ['http'],
    v4: maybe(r, 0.8) ? [[pick(r, ADDR4), pick(r, [6, 17]), pick(r, PORTS)] as [string, number, number]] : [],
    v6: maybe(r, 0.5) ? [[pick(r, ADDR6), 6, pick(r, PORTS)] as [string, number, number]] : [],
  }));
  const sets = { ip: ipSets.map((s) => s.id), port: portSets.map((s) => s.id) };
  let n = 0;
  const policies: PlanPolicy[] = Array.from({ length: 4 }, (_, i) => ({
    key: `${i < 2 ? 't1' : 'default'}/p${i}`, name: `p${i}`,
    ingress: Array.from({ length: Math.floor(r() * 4) }, () => rule(r, n++, sets)),
    egress: Array.from({ length: Math.floor(r() * 4) }, () => rule(r, n++, sets)),
  }));
  const profiles: PlanPolicy[] = [
    { key: 'profile/pa', name: 'pa', ingress: Array.from({ length: Math.floor(r() * 3) }, () => rule(r, n++, sets)), egress: Array.from({ length: Math.floor(r() * 3) }, () => rule(r, n++, sets)) },
  ];
  const tiers = (): TierPlan[] => {
    if (maybe(r, 0.3)) return [];
    const out: TierPlan[] = [];
    const t1 = policies.slice(0, 2).filter(() => maybe(r, 0.6)).map((p) => p.key);
    const d = policies.slice(2).filter(() => maybe(r, 0.6)).map((p) => p.key);
    if (t1.length || maybe(r, 0.1)) out.push({ tier: 't1', defaultAction: maybe(r) ? 'Pass' : 'Deny', policies: t1 });
    if (d.length) out.push({ tier: 'default', defaultAction: 'Deny', policies: d });
    return out;
  };
  const ep = (name: string, interfaceName: string, expectedIPs: string[]): EndpointPlan => ({
    name, interfaceName, expectedIPs,
    ingress: { untracked: maybe(r, 0.3) ? tiers() : [], preDNAT: maybe(r, 0.3) ? tiers() : [], normal: tiers(), forward: maybe(r, 0.4) ? tiers() : [] },
    egress: { untracked: maybe(r, 0.3) ? tiers() : [], normal: tiers(), forward: maybe(r, 0.4) ? tiers() : [] },
    profiles: Array.from({ length: Math.floor(r() * 3) }, () => pick(r, ['pa', 'pa', 'missing'])),
  });
  const endpoints: EndpointPlan[] = [];
  if (maybe(r, 0.7)) endpoints.push(ep('a-eth0', 'eth0', []));
  if (maybe(r, 0.5)) endpoints.push(ep('b-ips', '', ['198.18.1.1', 'fd00:1::1']));
  if (maybe(r, 0.5)) endpoints.push(ep('c-star', '*', []));
  if (maybe(r, 0.2)) endpoints.push(ep('d-lo', 'lo', []));
  const fsRule = () => ({ protocol: pick(r, ['tcp', 'udp'] as const), port: pick(r, PORTS), ...(maybe(r) ? { net: pick(r, ['198.18.0.0/24', 'fd00::/64']) } : {}) });
  const plan: NodePlan = {
    node: 'n', endpoints, policies, profiles, ipSets, portSets,
    failsafes: { inbound: Array.from({ length: Math.floor(r() * 2) }, fsRule), outbound: Array.from({ length: Math.floor(r() * 2) }, fsRule) },
    ...(maybe(r, 0.2) ? { ipv6Support: false } : {}),
    ...(maybe(r, 0.2) ? { disableConntrackInvalidCheck: true } : {}),
  };
  const interfaces: HostInterface[] = [
    { name: 'eth0', addresses: ['198.18.0.1', 'fd00::1'] },
    { name: 'eth1', addresses: ['198.18.1.1', 'fd00:1::1'] },
    { name: 'eth2', addresses: [] },
    { name: 'lo', addresses: ['127.0.0.1', '::1'] },
  ];
  return { plan, interfaces };
}

function randomPacket(r: Rand): Packet {
  const v6 = maybe(r, 0.3);
  const protocol = pick(r, [6, 6, 17, v6 ? 58 : 1, 47]);
  const ported = protocol === 6 || protocol === 17;
  const direction = pick(r, ['in', 'in', 'out', 'forward'] as const);
  return {
    direction, iface: pick(r, IFACES), ...(direction === 'forward' ? { outIface: pick(r, IFACES) } : {}),
    src: pick(r, v6 ? ADDR6 : ADDR4), dst: pick(r, v6 ? ADDR6 : ADDR4), protocol,
    ...(ported ? { srcPort: pick(r, PORTS), dstPort: pick(r, PORTS) } : {}),
    ...(protocol === 1 || protocol === 58 ? { icmpType: pick(r, v6 ? [128, 129, 1] : [8, 0, 3]), icmpCode: pick(r, [0, 1]) } : {}),
    ct: pick(r, ['new', 'new', 'established', 'invalid'] as const),
  };
}

describe('explain = the rendered table (property)', () => {
  for (const loopback of ['exempt', 'policy'] as const) {
    test(`random plans and packets agree with an nft evaluation of the render (loopback ${loopback})`, () => {
      let compared = 0;
      const verdicts = { allow: 0, deny: 0 };
      for (let seed = 1; seed <= 300; seed++) {
        const r = prng(seed * (loopback === 'exempt' ? 1 : 7919));
        const { plan, interfaces } = randomPlan(r);
        const dispatch = resolveDispatch(plan.endpoints, interfaces);
        const table = renderRuleset(plan, dispatch, { ...DEFAULT_RENDER_OPTIONS, loopback }).table;
        const nft = new NftInterpreter(table);
        for (let i = 0; i < 40; i++) {
          const pk = randomPacket(r);
          const want = nft.verdict(pk);
          const got = explainPacket(plan, dispatch, pk, { loopback });
          if (got.verdict !== want) {
            throw new Error(`seed ${seed} packet ${i}: explain ${got.verdict}, table ${want}\n${JSON.stringify(pk)}\n${got.steps.map((s) => s.text).join('\n')}\n${JSON.stringify(plan, null, 1)}`);
          }
          verdicts[want]++;
          compared++;
        }
      }
      expect(compared).toBe(12_000);
      // Both outcomes are common, so the property is not vacuous.
      expect(verdicts.allow).toBeGreaterThan(2000);
      expect(verdicts.deny).toBeGreaterThan(2000);
    });
  }
});
