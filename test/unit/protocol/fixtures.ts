/** A real computed plan and signing helpers shared by the protocol tests. */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import type { NodePlan } from '../../../src/plan/schema.ts';
import { canonicalBytes } from '../../../src/protocol/canonical-json.ts';
import { keyId } from '../../../src/protocol/key-id.ts';
import { resources } from '../calc/helpers.ts';

const YAML = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth0, labels: {role: gw}}
spec: {node: gw, interfaceName: eth0, expectedIPs: [198.18.0.1], ports: [{name: web, protocol: TCP, port: 8080}]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: other-eth0, labels: {role: gw}}
spec: {node: other, interfaceName: eth0, expectedIPs: [198.18.0.2]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: office, labels: {role: office}}
spec: {nets: [198.18.8.0/24, 'fd00:8::/64']}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-office}
spec:
  selector: role == 'gw'
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: role == 'office'}, destination: {ports: [443, web]}}
  - {action: Deny, protocol: ICMP, icmp: {type: 8}}
  egress: [{action: Allow}]
`;

/** The computed plan for `node` ("gw" or "other"). */
export function planFor(node: string): NodePlan {
  return computeNodePlan({ node, resources: resources(YAML) }).plan;
}

export function keyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

/** Signs an arbitrary body the way the relay does, so tests can build validly signed bad snapshots. */
export function signedPayload(body: unknown, privateKey: KeyObject): Uint8Array {
  const sig = sign(null, canonicalBytes(body), privateKey).toString('base64');
  return canonicalBytes({ body, keyId: keyId(privateKey), sig });
}

export function parsePayload(payload: Uint8Array): { body: Record<string, unknown>; keyId: string; sig: string } {
  return JSON.parse(new TextDecoder().decode(payload)) as { body: Record<string, unknown>; keyId: string; sig: string };
}

/** A small deterministic PRNG, so a fuzz failure can be replayed from its seed (shared with test/fuzz). */
export { prng } from '../../fuzz/hostile-inputs.ts';
