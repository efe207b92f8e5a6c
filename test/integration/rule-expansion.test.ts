/**
 * Rules whose lists render without anonymous sets (src/render/rule.ts): a short positive list of
 * nets or ports becomes one rule per element, a short negated list chained "!=" matches, a long
 * list keeps its anonymous set. Real nftables, real packets: each form must select exactly the
 * traffic the set form did. c1 is 198.18.1.2 (to gw 198.18.1.1), c2 198.18.2.2 (to gw 198.18.2.1).
 */
import { describe, expect, test } from 'bun:test';
import { EnforcementHarness, useEnforcementHarness, isRoot, tcp, udp } from './harness.ts';
import { gnp, hep } from './fixtures.ts';

let h: EnforcementHarness;
const GW1 = '198.18.1.1';
const GW2 = '198.18.2.1';
const HEPS = hep('gw-eth1', { iface: 'eth1', labels: { role: 'gw' } }) + hep('gw-eth2', { iface: 'eth2', labels: { role: 'gw' } });
/** Nine /24s that hold neither client: longer than rule.ts's expansion and negation limits (8). */
const FAR = Array.from({ length: 9 }, (_, i) => `198.19.${i}.0/24`);

describe.skipIf(!isRoot)('rule lists without anonymous sets (real nftables, real packets)', () => {
  useEnforcementHarness((x) => (h = x));

  test('nets × ports expanded into separate rules allow exactly their combinations', async () => {
    await h.enforce({
      'heps.yaml': HEPS,
      'p.yaml': gnp('expand', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, source: {nets: [198.18.9.0/24, 198.18.1.0/24]}, destination: {ports: [80, "440:443"]}}]`),
    });
    expect(await h.mismatches([
      tcp('c1', GW1, 80, true), tcp('c1', GW1, 443, true), tcp('c1', GW1, 8080, false), tcp('c1', GW1, 22, true),
      tcp('c2', GW2, 80, false), tcp('c2', GW2, 443, false), udp('c1', GW1, 5353, false),
    ])).toEqual([]);
  });

  test('negated nets and ports chained as "!=" matches: none of the listed values passes', async () => {
    await h.enforce({
      'heps.yaml': HEPS,
      'p.yaml': gnp('not', `selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, source: {notNets: [198.18.9.0/24, 198.18.1.0/24]}, destination: {notPorts: [80, 443]}}]`),
    });
    expect(await h.mismatches([
      tcp('c1', GW1, 8080, false), tcp('c2', GW2, 8080, true), tcp('c2', GW2, 80, false), tcp('c2', GW2, 443, false), tcp('c2', GW2, 9090, true),
    ])).toEqual([]);
  });

  test('lists longer than the limits keep one anonymous set, positive and negated', async () => {
    await h.enforce({
      'heps.yaml': HEPS,
      'p.yaml': gnp('long', `selector: role == 'gw'\ningress:\n  - {action: Allow, protocol: TCP, source: {nets: ${JSON.stringify([...FAR, '198.18.2.0/24'])}}, destination: {ports: [80]}}\n  - {action: Allow, protocol: TCP, source: {notNets: ${JSON.stringify([...FAR, '198.18.2.0/24'])}}, destination: {ports: [443]}}`),
    });
    expect(await h.mismatches([
      tcp('c2', GW2, 80, true), tcp('c1', GW1, 80, false), tcp('c1', GW1, 443, true), tcp('c2', GW2, 443, false),
    ])).toEqual([]);
  });
});
