/** A real computed plan and signing helpers shared by the protocol tests. */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { computeNodePlan } from '../../../src/calc/node-plan.ts';
import type { NodePlan } from '../../../src/plan/schema.ts';
import { canonicalBytes, canonicalJson } from '../../../src/protocol/canonical-json.ts';
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

/**
 * A v2 payload around any header text and compressed bytes, signed the way the relay signs, so
 * tests can build validly signed bad v2 snapshots.
 */
export function signedV2(header: string, deflated: Uint8Array, privateKey: KeyObject): Uint8Array {
  const signed = Buffer.concat([Buffer.from(`${header}\n`), deflated]);
  const sig = sign(null, signed, privateKey).toString('base64');
  return new Uint8Array(Buffer.concat([Buffer.from(`outpost.snapshot/v2 ${keyId(privateKey)} ${sig}\n`), signed]));
}

/** The canonical v2 header for gw with `fields` applied. */
export function v2Header(fields: Record<string, unknown>): string {
  const all = { format: 'outpost.snapshot/v2', node: 'gw', revision: '42', issuedAt: 1_700_000_000_000, ...fields };
  // A field patched to undefined is left out (canonical JSON has no undefined).
  return canonicalJson(Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)));
}

export const deflate = (bytes: Uint8Array | string) => new Uint8Array(deflateRawSync(typeof bytes === 'string' ? Buffer.from(bytes) : bytes));

/** The v1 (JSON) payload's parts; a v2 payload is not JSON. */
export function parsePayload(payload: Uint8Array): { body: Record<string, unknown>; keyId: string; sig: string } {
  return JSON.parse(new TextDecoder().decode(payload)) as { body: Record<string, unknown>; keyId: string; sig: string };
}

/** A small deterministic PRNG, so a fuzz failure can be replayed from its seed (shared with test/fuzz). */
export { prng } from '../../fuzz/hostile-inputs.ts';
