/**
 * An agent whose node name matches no HostEndpoint governs nothing: a typo in `node` (or in the
 * HEPs' spec.node) looks exactly like a host that has no policy, so the agent says so in its log.
 */
export function noEndpointWarning(node: string): string {
  return `node name '${node}' matches no HostEndpoint (no HEP has spec.node: ${node}): no interface of this host is governed and its traffic passes unfiltered; check the agent's node setting and the HEPs' spec.node`;
}
