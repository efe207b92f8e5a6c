/**
 * Where `explain`, `test` and `diff` get node plans from:
 *
 * - on a host, the agent's own state: local mode recomputes the plan from the agent's resources
 *   and the last valid versions it recorded (read from a copy of its SQLite: the agent's lock is
 *   never taken, nothing is written); relay and bundle mode decode and verify the snapshot the
 *   agent cached (the same checks the agent makes). The agent's failsafe settings apply, as on
 *   the host.
 * - a datastore: a resources folder or etcd (read once, as the relay reads it), every node's plan
 *   computed as the relay computes it.
 */
import { computeNodePlan, contextView, planFromView, preparePlanContext } from '../calc/node-plan.ts';
import { withLocalFailsafes } from '../calc/failsafes.ts';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DB_FILE, SnapshotCache } from '../cache/snapshot-cache.ts';
import { lastGoodMemory } from '../cache/last-good-memory.ts';
import { FileResourceSource } from '../datastore/file-source.ts';
import type { DatastoreSource, DatastoreState } from '../datastore/source.ts';
import { decodeSnapshot } from '../protocol/snapshot.ts';
import { loadPublicKeys } from '../platform/signing.ts';
import { localFailsafes } from '../agent/host-ruleset.ts';
import { brokerPathRules, brokerTarget } from '../agent/broker-path.ts';
import { systemResolvers } from '../agent/control-path.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import type { Resource } from '../model/resource.ts';
import type { NodePlan } from '../plan/schema.ts';

export class PlanSourceError extends Error {
  readonly code = 'PLAN_SOURCE' as const;
}

export interface HostPlan {
  readonly plan: NodePlan;
  /** One line: where the plan came from. */
  readonly source: string;
}

type HostConfig = Pick<AgentConfig, 'node' | 'state' | 'resources' | 'trustKey' | 'failsafeInbound' | 'failsafeOutbound'> & Partial<Pick<AgentConfig, 'broker' | 'resolvers'>>;

/**
 * A private copy of the agent's database, its write-ahead log included (a running agent's last
 * snapshot may be in the log only): opened from a temporary folder, so nothing the agent owns is
 * locked or written. Undefined when there is no database.
 */
function stateCopy(state: string): { cache: SnapshotCache | undefined; done: () => void } {
  const db = join(state, DB_FILE);
  if (!existsSync(db)) return { cache: undefined, done: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'outpost-explain-'));
  const done = () => rmSync(dir, { recursive: true, force: true });
  try {
    copyFileSync(db, join(dir, DB_FILE));
    if (existsSync(`${db}-wal`)) copyFileSync(`${db}-wal`, join(dir, `${DB_FILE}-wal`));
    return { cache: SnapshotCache.open(dir), done };
  } catch {
    // Unreadable, or replaced while copied: the in-memory copy of the main file is the fallback.
    done();
    return { cache: SnapshotCache.openCopy(state), done: () => undefined };
  }
}

/** The plan the agent configured by `config` enforces (or would, on its next apply). */
export async function hostPlan(config: HostConfig): Promise<HostPlan> {
  const { cache: copy, done } = stateCopy(config.state);
  try {
    if (config.resources) {
      const source = new FileResourceSource(config.resources, copy ? lastGoodMemory(copy, () => undefined) : undefined);
      const report = await source.load();
      if (report.fatal) throw new PlanSourceError(`cannot read the agent's resources ${config.resources.join(', ')}: ${report.fatal}`);
      const { plan } = planFromView({ node: config.node, resources: source.current() }, contextView(preparePlanContext(source.current())));
      const kept = report.errors.length ? `; ${report.errors.length} invalid resource(s) ${copy ? 'kept at their last valid version where the agent recorded one' : 'left out'}` : '';
      return {
        plan: withHostFailsafes(plan, config),
        source: `local mode: node ${config.node} computed from ${config.resources.join(', ')}${copy ? ` and the last valid versions in ${config.state}` : ''}${kept}`,
      };
    }
    if (!copy) throw new PlanSourceError(`no snapshot cache in ${config.state} (the agent has not stored a snapshot yet, or --state is not its state dir)`);
    const row = copy.load(config.node);
    if (!row) throw new PlanSourceError(`the agent's cache in ${config.state} holds no snapshot for node ${config.node}`);
    if (!config.trustKey) throw new PlanSourceError('the agent configuration names no trustKey, so the cached snapshot cannot be verified');
    const keys = await loadPublicKeys(config.trustKey);
    if (!keys.ok) throw new PlanSourceError(keys.message);
    const r = decodeSnapshot(row.payload, { publicKey: keys.keys, node: config.node });
    if (!r.ok) throw new PlanSourceError(`the cached snapshot is refused (${r.reason}): ${r.message}`);
    // The path to the broker stays open whatever the plan says (relay-mode.ts): the broker's
    // addresses (a name: as last resolved, from the cache) and the DNS servers.
    let always = {};
    if (config.broker !== undefined) {
      const target = brokerTarget(config.broker);
      const addresses = target.isName ? copy.loadBrokerAddresses(config.broker) : [target.host];
      always = { outbound: brokerPathRules(target, addresses, config.resolvers ?? systemResolvers()) };
    }
    return {
      plan: withHostFailsafes(r.snapshot.plan, config, always),
      source: `cached snapshot: node ${config.node}, revision ${row.revision}, ${row.hash}, stored ${row.storedAt} in ${config.state}`,
    };
  } finally {
    copy?.close();
    done();
  }
}

function withHostFailsafes(plan: NodePlan, config: HostConfig, always: Parameters<typeof withLocalFailsafes>[2] = {}): NodePlan {
  return { ...plan, failsafes: withLocalFailsafes(plan.failsafes, localFailsafes(config), always) };
}

/** The datastore's first complete state; invalid resources are reported through `warn` and left out, as the relay does. */
export async function readDatastoreOnce(source: DatastoreSource, warn: (m: string) => void): Promise<DatastoreState> {
  let state: DatastoreState | undefined;
  try {
    await source.start({
      onState: (s) => (state = s),
      onError: (m, r) => warn(`${r ? `${r.source}: ` : ''}${m}`),
    });
  } finally {
    await source.stop();
  }
  if (!state) throw new PlanSourceError('the datastore delivered no state');
  return state;
}

/** The nodes named by host endpoints in these resources, sorted. */
export function nodesOf(resources: readonly Resource[]): string[] {
  const nodes = new Set<string>();
  for (const r of resources) if (r.kind === 'HostEndpoint' && r.spec.node) nodes.add(r.spec.node);
  return [...nodes].sort();
}

/** Every node's plan from one resource set, sharing one context (as the relay does). */
export function plansFor(resources: readonly Resource[], nodes: readonly string[] = nodesOf(resources)): Map<string, NodePlan> {
  const ctx = preparePlanContext(resources);
  const out = new Map<string, NodePlan>();
  for (const node of nodes) out.set(node, computeNodePlan({ node, resources }, ctx).plan);
  return out;
}
