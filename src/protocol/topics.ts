/**
 * The MQTT topic tree, under a configurable prefix (default `outpost/v1`):
 *
 *   <prefix>/nodes/<node>/snapshot   retained, QoS 1, written by the relay (signed NodePlan)
 *   <prefix>/nodes/<node>/status     retained, written by the agent; its last will says "offline"
 *   <prefix>/nodes/<node>/expected   retained, written by the relay: the revision and hash it wants the node to hold
 *   <prefix>/nodes/<node>/interfaces retained, written by the agent (auto host endpoints): its interfaces and addresses
 *   <prefix>/relay/held-back         retained, written by the relay: resources it holds back as invalid
 *   <prefix>/relay/status            retained, written by the relay: whether its policy tests pass (what it publishes is held back)
 *
 * Broker ACLs give node N read on `<prefix>/nodes/N/snapshot` and write on `.../N/status` only,
 * which is why the node is a whole topic level and why node names may not contain `/`, `+` or `#`.
 */

export const DEFAULT_TOPIC_PREFIX = 'outpost/v1';

export type TopicKind = 'snapshot' | 'status' | 'expected' | 'interfaces';
const TOPIC_KINDS: readonly string[] = ['snapshot', 'status', 'expected', 'interfaces'];

export class TopicError extends Error {
  readonly code = 'TOPIC' as const;
}

const LEVEL_FORBIDDEN = /[+#\u0000]/;
/** Calico node names: DNS-1123 subdomains, as HostEndpoint spec.node is validated. */
const NODE_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** MQTT caps a topic at 65535 UTF-8 bytes; keep the prefix well inside that. */
const MAX_PREFIX_BYTES = 1024;

/** Why `prefix` cannot be a topic prefix, or undefined when it can. */
export function topicPrefixProblem(prefix: string): string | undefined {
  if (prefix === '') return 'the topic prefix must not be empty';
  if (prefix.startsWith('/') || prefix.endsWith('/')) return 'the topic prefix must not start or end with "/"';
  if (prefix.split('/').some((l) => l === '')) return 'the topic prefix must not contain an empty level ("//")';
  if (LEVEL_FORBIDDEN.test(prefix)) return 'the topic prefix must not contain "+", "#" or NUL';
  // Brokers reserve "$" topics (e.g. $SYS) and wildcards never match them.
  if (prefix.startsWith('$')) return 'the topic prefix must not start with "$"';
  if (new TextEncoder().encode(prefix).length > MAX_PREFIX_BYTES) return `the topic prefix must be at most ${MAX_PREFIX_BYTES} bytes`;
  return undefined;
}

/** Why `node` cannot be a node name in a topic, or undefined when it can. */
export function nodeNameProblem(node: string): string | undefined {
  if (node === '') return 'the node name must not be empty';
  if (node.length > 253 || !NODE_RE.test(node)) return `node name ${JSON.stringify(node)} must be a DNS-1123 subdomain of at most 253 characters`;
  return undefined;
}

function checked(prefix: string, node: string): void {
  const problem = topicPrefixProblem(prefix) ?? nodeNameProblem(node);
  if (problem !== undefined) throw new TopicError(problem);
}

/** `<prefix>/nodes/<node>/snapshot`; throws TopicError on an invalid prefix or node. */
export function snapshotTopic(prefix: string, node: string): string {
  checked(prefix, node);
  return `${prefix}/nodes/${node}/snapshot`;
}

/** `<prefix>/nodes/<node>/status`; throws TopicError on an invalid prefix or node. */
export function statusTopic(prefix: string, node: string): string {
  checked(prefix, node);
  return `${prefix}/nodes/${node}/status`;
}

/** `<prefix>/nodes/<node>/expected`; throws TopicError on an invalid prefix or node. */
export function expectedTopic(prefix: string, node: string): string {
  checked(prefix, node);
  return `${prefix}/nodes/${node}/expected`;
}

/** `<prefix>/nodes/<node>/interfaces`; throws TopicError on an invalid prefix or node. */
export function interfacesTopic(prefix: string, node: string): string {
  checked(prefix, node);
  return `${prefix}/nodes/${node}/interfaces`;
}

/** `<prefix>/relay/held-back`; throws TopicError on an invalid prefix. */
export function heldBackTopic(prefix: string): string {
  const problem = topicPrefixProblem(prefix);
  if (problem !== undefined) throw new TopicError(problem);
  return `${prefix}/relay/held-back`;
}

/** `<prefix>/relay/status`; throws TopicError on an invalid prefix. */
export function relayStatusTopic(prefix: string): string {
  const problem = topicPrefixProblem(prefix);
  if (problem !== undefined) throw new TopicError(problem);
  return `${prefix}/relay/status`;
}

/** `<prefix>/nodes/+/<kind>`: every node's topic of one kind. */
export function nodesWildcard(prefix: string, kind: TopicKind): string {
  const problem = topicPrefixProblem(prefix);
  if (problem !== undefined) throw new TopicError(problem);
  return `${prefix}/nodes/+/${kind}`;
}

/** The filter a relay subscribes to for every agent's status: `<prefix>/nodes/+/status`. */
export function statusWildcard(prefix: string): string {
  const problem = topicPrefixProblem(prefix);
  if (problem !== undefined) throw new TopicError(problem);
  return `${prefix}/nodes/+/status`;
}

/** Every retained snapshot: `<prefix>/nodes/+/snapshot` (a relay can find snapshots of nodes that are gone). */
export function snapshotWildcard(prefix: string): string {
  const problem = topicPrefixProblem(prefix);
  if (problem !== undefined) throw new TopicError(problem);
  return `${prefix}/nodes/+/snapshot`;
}

/** The node and kind of a topic under `prefix`, or undefined for any other topic (never throws). */
export function nodeFromTopic(prefix: string, topic: string): { node: string; kind: TopicKind } | undefined {
  const head = `${prefix}/nodes/`;
  if (!topic.startsWith(head)) return undefined;
  const rest = topic.slice(head.length).split('/');
  if (rest.length !== 2) return undefined;
  const [node, kind] = rest as [string, string];
  if (!TOPIC_KINDS.includes(kind)) return undefined;
  if (nodeNameProblem(node) !== undefined) return undefined;
  return { node, kind: kind as TopicKind };
}
