/**
 * Property: staged policies never change a verdict. The same resources rendered with and without
 * StagedGlobalNetworkPolicies give every packet the same verdict, evaluated by the nft interpreter
 * (which walks jump/return/marks as the kernel does), and explain (which ignores staged policies)
 * agrees with both. Staged rules cover every action, selector sets split into host and prefix
 * parts, negations, ICMP with and without code, named ports, Ingress-only and Egress-only.
 */
import { describe, expect, test } from 'bun:test';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import { resolveDispatch } from '../../../src/calc/dispatch.ts';
import { renderRuleset } from '../../../src/render/ruleset.ts';
import { explainPacket, type Packet } from '../../../src/explain/engine.ts';
import { NftInterpreter } from '../explain/nft-interpreter.ts';
import { resources } from '../calc/helpers.ts';
import { prng } from '../../lab/prng.ts';

const BASE = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: web1-eth0, labels: {role: web}}
spec: {node: web1, interfaceName: eth0, ports: [{name: http, port: 8080, protocol: TCP}]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: web1-ips, labels: {role: web}}
spec: {node: web1, expectedIPs: [198.18.1.1, "fd00:1::1"], profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: mixed, labels: {zone: office}}
spec: {nets: [198.18.7.0/24, 198.18.9.1/32, "fd00:7::/64", "fd00::5/128", "::ffff:198.18.0.0/112"]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-https}
spec:
  selector: role == 'web'
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [443]}}
  - {action: Pass, protocol: UDP}
  - {action: Deny, source: {selector: zone == 'office'}, protocol: TCP, destination: {ports: [22]}}
  - {action: Allow, protocol: ICMP, icmp: {type: 8}}
  egress:
  - {action: Allow, protocol: UDP, destination: {ports: [53]}}
  - {action: Log, destination: {selector: zone == 'office'}}
`;

const STAGED = `
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: trial-a}
spec:
  selector: all()
  ingress:
  - {action: Log, source: {selector: zone == 'office'}}
  - {action: Deny, protocol: TCP, destination: {ports: [443, 8443, http]}}
  - {action: Allow, source: {nets: [198.18.0.0/16], notSelector: zone == 'office'}}
  - {action: Allow, source: {nets: ["::/0"]}, destination: {notPorts: [22]}, protocol: TCP}
  - {action: Pass, protocol: UDP, notProtocol: TCP}
  - {action: Deny, protocol: ICMP, notICMP: {type: 8, code: 0}}
  - {action: Allow, protocol: ICMPv6, icmp: {type: 128}}
  egress:
  - {action: Deny, destination: {selector: zone == 'office'}}
  - {action: Allow, destination: {notNets: ["198.18.0.0/15"]}}
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: trial-in-only}
spec: {selector: role == 'web', types: [Ingress], ingress: [{action: Deny}]}
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: trial-out-only}
spec: {selector: all(), types: [Egress], egress: [{action: Deny, protocol: UDP}]}
`;

const interfaces = [
  { name: 'eth0', addresses: ['198.18.0.1', 'fd00::1'] },
  { name: 'eth1', addresses: ['198.18.1.1', 'fd00:1::1'] },
  { name: 'lo', addresses: ['127.0.0.1', '::1'] },
];

function table(yaml: string) {
  const { plan } = computeNodePlan({ node: 'web1', resources: resources(yaml) });
  const dispatch = resolveDispatch(plan.endpoints, interfaces);
  return { plan, dispatch, nft: new NftInterpreter(renderRuleset(plan, dispatch).table) };
}

const ADDR4 = ['198.18.0.1', '198.18.1.1', '198.18.7.9', '198.18.9.1', '198.19.0.5', '10.0.0.1'];
const ADDR6 = ['fd00::1', 'fd00:1::1', 'fd00:7::9', 'fd00::5', '::ffff:198.18.0.7', 'fd01::1'];

describe('staged policies never change a verdict (property)', () => {
  test('with and without staged policies, every packet gets the same verdict, and explain agrees', () => {
    const without = table(BASE);
    const withStaged = table(BASE + STAGED);
    expect(withStaged.plan.staged?.length).toBe(3);
    const r = prng(4242);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const verdicts = { allow: 0, deny: 0 };
    for (let i = 0; i < 5_000; i++) {
      const v6 = r() < 0.4;
      const protocol = pick([6, 6, 17, v6 ? 58 : 1, 47]);
      const ported = protocol === 6 || protocol === 17;
      const direction = pick(['in', 'in', 'out', 'forward'] as const);
      const pk: Packet = {
        direction, iface: pick(['eth0', 'eth1', 'lo', 'eth9']), ...(direction === 'forward' ? { outIface: pick(['eth0', 'eth1']) } : {}),
        src: pick(v6 ? ADDR6 : ADDR4), dst: pick(v6 ? ADDR6 : ADDR4), protocol,
        ...(ported ? { srcPort: pick([40000, 53, 443]), dstPort: pick([22, 53, 443, 8080, 8443, 9000]) } : {}),
        ...(protocol === 1 || protocol === 58 ? { icmpType: pick(v6 ? [128, 129] : [8, 0, 3]), icmpCode: pick([0, 1]) } : {}),
        ct: pick(['new', 'new', 'new', 'established', 'invalid'] as const),
      };
      const want = without.nft.verdict(pk);
      const got = withStaged.nft.verdict(pk);
      if (got !== want) throw new Error(`packet ${i}: ${JSON.stringify(pk)}: ${want} without staged policies, ${got} with them`);
      expect(explainPacket(withStaged.plan, withStaged.dispatch, pk).verdict).toBe(want);
      verdicts[want]++;
    }
    expect(verdicts.allow).toBeGreaterThan(500);
    expect(verdicts.deny).toBeGreaterThan(500);
  });
});
