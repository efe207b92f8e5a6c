/**
 * Who may do what on the broker: the same rules the README's Mosquitto ACL file states, for
 * the relay's embedded broker. Pure: an identity (the client certificate's CN), an action and a
 * topic in, allowed or not out.
 *
 * - node N (identity N): subscribe to and receive `<prefix>/nodes/N/snapshot` and
 *   `<prefix>/relay/held-back`; publish (and leave its last will on) `<prefix>/nodes/N/status`,
 *   and publish `<prefix>/nodes/N/interfaces` (auto host endpoints);
 * - the relay (its own identity): publish every node's snapshot and expectation, the held-back
 *   list and its own status; read every node's snapshot (its revision floor), status,
 *   expectation and interfaces; it publishes no status or interfaces for a node;
 * - fleet readers (identities listed in the relay's `fleetReaders`, e.g. the operator running
 *   `outpost fleet`): read every node's status and expectation, the held-back list and the
 *   relay's status; never a snapshot (a node's whole policy), never a write;
 * - nothing else, for anyone: no multi-level wildcard (`#`), no `$SYS`, no other topic under or
 *   outside the prefix.
 *
 * A node whose name equals the relay's identity or a fleet reader's cannot exist: those rules
 * would apply to it, so scripts/pki.sh refuses to issue such a node certificate, and the relay
 * refuses a fleet reader named like itself.
 */
import { nodeNameProblem } from '../protocol/topics.ts';

export type AclAction = 'subscribe' | 'receive' | 'publish';

export interface AclContext {
  readonly prefix: string;
  /** The relay's certificate CN. */
  readonly relayIdentity: string;
  /** Certificate CNs that may read statuses, expectations and the relay's lists (`outpost fleet`). */
  readonly fleetReaders?: ReadonlySet<string>;
}

type NodeTopicKind = 'snapshot' | 'status' | 'expected' | 'interfaces';

/** The node and kind of `<prefix>/nodes/<node>/<kind>` with a valid node name, or undefined. */
function nodeTopic(topic: string, prefix: string): { node: string; kind: NodeTopicKind } | undefined {
  const head = `${prefix}/nodes/`;
  if (!topic.startsWith(head)) return undefined;
  const rest = topic.slice(head.length).split('/');
  if (rest.length !== 2) return undefined;
  const [node, kind] = rest as [string, string];
  if (kind !== 'snapshot' && kind !== 'status' && kind !== 'expected' && kind !== 'interfaces') return undefined;
  if (nodeNameProblem(node) !== undefined) return undefined;
  return { node, kind };
}

const RELAY_READS: readonly NodeTopicKind[] = ['snapshot', 'status', 'expected', 'interfaces'];
const FLEET_READS: readonly NodeTopicKind[] = ['status', 'expected'];

/** Read access (subscribe to a filter / receive a topic) to the given node topic kinds, for every node. */
function readsAll(action: AclAction, topic: string, prefix: string, kinds: readonly NodeTopicKind[]): boolean {
  if (action === 'subscribe' && kinds.some((k) => topic === `${prefix}/nodes/+/${k}`)) return true;
  const t = nodeTopic(topic, prefix);
  return t !== undefined && kinds.includes(t.kind);
}

/** True when `identity` may perform `action` on `topic` (a subscription filter for 'subscribe'). */
export function aclAllows(identity: string | undefined, action: AclAction, topic: string, ctx: AclContext): boolean {
  if (identity === undefined || identity === '') return false;
  const { prefix } = ctx;
  const heldBack = `${prefix}/relay/held-back`;
  const relayStatus = `${prefix}/relay/status`;
  if (identity === ctx.relayIdentity) {
    if (action === 'publish') {
      if (topic === heldBack || topic === relayStatus) return true;
      const t = nodeTopic(topic, prefix);
      return t !== undefined && (t.kind === 'snapshot' || t.kind === 'expected');
    }
    return readsAll(action, topic, prefix, RELAY_READS);
  }
  if (ctx.fleetReaders?.has(identity)) {
    if (action === 'publish') return false;
    return topic === heldBack || topic === relayStatus || readsAll(action, topic, prefix, FLEET_READS);
  }
  // Anything not a valid node name (a CN with "/", "+", "#", upper case ...) gets nothing.
  if (nodeNameProblem(identity) !== undefined) return false;
  if (action === 'publish') return topic === `${prefix}/nodes/${identity}/status` || topic === `${prefix}/nodes/${identity}/interfaces`;
  return topic === `${prefix}/nodes/${identity}/snapshot` || topic === heldBack;
}

/**
 * Client ids that name an outpost role are reserved for it: a node connecting as
 * `outpost-agent-<other node>` would take over that node's persistent session (and end its
 * connection). Returns why the id is refused, or undefined.
 */
export function clientIdProblem(identity: string, clientId: string, relayIdentity: string): string | undefined {
  if (clientId.startsWith('outpost-relay-') && identity !== relayIdentity) return `client id ${JSON.stringify(clientId.slice(0, 100))} is reserved for the relay`;
  if (clientId.startsWith('outpost-agent-') && clientId !== `outpost-agent-${identity}`) return `client id ${JSON.stringify(clientId.slice(0, 100))} is reserved for another node`;
  return undefined;
}
