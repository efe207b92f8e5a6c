/**
 * Who may do what on the broker: the same rules the README's Mosquitto ACL file states, for
 * the relay's embedded broker. Pure: an identity (the client certificate's CN), an action and a
 * topic in, allowed or not out.
 *
 * - node N (identity N): subscribe to and receive `<prefix>/nodes/N/snapshot` only; publish (and
 *   leave its last will on) `<prefix>/nodes/N/status` only;
 * - the relay (its own identity): publish snapshots for every node; read snapshots (its revision
 *   floor) and statuses for every node; it publishes no status;
 * - nothing else, for anyone: no wildcard subscription for a node (`#` would name other nodes'
 *   topics), no `$SYS`, no other topic under or outside the prefix.
 *
 * A node whose name equals the relay's identity cannot exist: the relay's rules would apply to
 * it, so scripts/pki.sh refuses to issue such a node certificate.
 */
import { nodeNameProblem } from '../protocol/topics.ts';

export type AclAction = 'subscribe' | 'receive' | 'publish';

export interface AclContext {
  readonly prefix: string;
  /** The relay's certificate CN. */
  readonly relayIdentity: string;
}

/** The node named by a topic of the given kind under prefix, or undefined. */
function nodeOf(topic: string, prefix: string, kind: 'snapshot' | 'status'): string | undefined {
  const head = `${prefix}/nodes/`;
  const tail = `/${kind}`;
  if (!topic.startsWith(head) || !topic.endsWith(tail)) return undefined;
  const node = topic.slice(head.length, topic.length - tail.length);
  return node === '' || node.includes('/') ? undefined : node;
}

/** True when `identity` may perform `action` on `topic` (a subscription filter for 'subscribe'). */
export function aclAllows(identity: string | undefined, action: AclAction, topic: string, ctx: AclContext): boolean {
  if (identity === undefined || identity === '') return false;
  if (identity === ctx.relayIdentity) {
    if (action === 'subscribe' && (topic === `${ctx.prefix}/nodes/+/snapshot` || topic === `${ctx.prefix}/nodes/+/status`)) return true;
    const snap = nodeOf(topic, ctx.prefix, 'snapshot');
    const status = nodeOf(topic, ctx.prefix, 'status');
    const node = snap ?? status;
    if (node === undefined || nodeNameProblem(node) !== undefined) return false;
    return action === 'publish' ? snap !== undefined : true;
  }
  // Anything not a valid node name (a CN with "/", "+", "#", upper case ...) gets nothing.
  if (nodeNameProblem(identity) !== undefined) return false;
  if (action === 'publish') return topic === `${ctx.prefix}/nodes/${identity}/status`;
  return topic === `${ctx.prefix}/nodes/${identity}/snapshot`;
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
