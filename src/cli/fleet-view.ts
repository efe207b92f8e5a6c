/**
 * `outpost fleet`'s pure part: the retained messages read from the broker in, one row per node
 * and a verdict out. A node is in sync when its agent reports `in-sync` and enforces the hash the
 * relay expects (or, from a relay too old to publish expectations, just `in-sync`). Every other
 * node stands out with the reasons why; so do a relay whose policy tests fail and resources held
 * back as invalid. A message that does not validate is named with its topic, never fatal.
 */
import { decodeExpected, type Expected } from '../protocol/expected.ts';
import { HeldBackSchema, type HeldBack } from '../protocol/held-back.ts';
import { decodeJsonPayload } from '../protocol/json-payload.ts';
import { decodeRelayStatus, type RelayStatus } from '../protocol/relay-status.ts';
import { decodeStatus, type AgentStatus } from '../protocol/status.ts';
import { heldBackTopic, nodeFromTopic, relayStatusTopic } from '../protocol/topics.ts';
import { printable } from '../platform/terminal-text.ts';

export type FleetFlag = 'behind' | 'offline' | 'error' | 'stale' | 'cached' | 'degraded' | 'no-status' | 'not-expected' | 'held-back' | 'staged' | 'matches-nothing';

export interface FleetRow {
  readonly node: string;
  /** The agent's state, or 'unknown' when it never published a status. */
  readonly state: string;
  readonly appliedHash?: string;
  readonly expectedHash?: string;
  readonly revision?: string;
  readonly expectedRevision?: string;
  /** ISO times: when the agent entered its state, and when the relay issued what it expects. */
  readonly since?: string;
  readonly issuedAt?: string;
  readonly lastError?: string;
  readonly staged?: readonly { policy: string; wouldAllow: number; wouldDeny: number }[];
  readonly flags: readonly FleetFlag[];
  readonly inSync: boolean;
}

export interface FleetReport {
  readonly prefix: string;
  readonly nodes: readonly FleetRow[];
  readonly summary: string;
  readonly heldBack?: HeldBack;
  readonly relay?: RelayStatus;
  /** Topics whose retained message could not be read, with why. */
  readonly unreadable: readonly { topic: string; problem: string }[];
  readonly allInSync: boolean;
}

/** Collected retained messages: topic → payload (an empty payload is no message). */
export function buildFleetReport(prefix: string, messages: ReadonlyMap<string, Uint8Array>): FleetReport {
  const statuses = new Map<string, AgentStatus>();
  const expected = new Map<string, Expected>();
  const unreadable: { topic: string; problem: string }[] = [];
  let heldBack: HeldBack | undefined;
  let relay: RelayStatus | undefined;
  for (const [topic, payload] of [...messages].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (payload.length === 0) continue;
    if (topic === heldBackTopic(prefix)) {
      const r = decodeJsonPayload(HeldBackSchema, payload, 'message');
      if (r.ok) heldBack = r.value;
      else unreadable.push({ topic, problem: r.message });
      continue;
    }
    if (topic === relayStatusTopic(prefix)) {
      const r = decodeRelayStatus(payload);
      if (r.ok) relay = r.status;
      else unreadable.push({ topic, problem: r.message });
      continue;
    }
    const t = nodeFromTopic(prefix, topic);
    if (t?.kind === 'status') {
      const r = decodeStatus(payload);
      if (!r.ok) unreadable.push({ topic, problem: r.message });
      else if (r.status.node !== t.node) unreadable.push({ topic, problem: `names node ${JSON.stringify(r.status.node.slice(0, 100))}, not ${t.node}` });
      else statuses.set(t.node, r.status);
    } else if (t?.kind === 'expected') {
      const r = decodeExpected(payload);
      if (!r.ok) unreadable.push({ topic, problem: r.message });
      else if (r.expected.node !== t.node) unreadable.push({ topic, problem: `names node ${JSON.stringify(r.expected.node)}, not ${t.node}` });
      else expected.set(t.node, r.expected);
    } else if (topic.startsWith(`${prefix}/nodes/`)) {
      unreadable.push({ topic: topic.slice(0, 300), problem: 'not a node topic outpost writes (bad node name or kind)' });
    }
  }
  const anyExpected = expected.size > 0;
  const nodes = [...new Set([...statuses.keys(), ...expected.keys()])].sort().map((n) => row(n, statuses.get(n), expected.get(n), anyExpected));
  const behind = (f: FleetFlag) => nodes.filter((r) => r.flags.includes(f)).length;
  const parts = [`${nodes.filter((r) => r.inSync).length} in sync`];
  for (const f of ['behind', 'offline', 'error', 'stale', 'cached', 'no-status', 'not-expected', 'held-back', 'staged'] as const) {
    const n = behind(f);
    if (n) parts.push(`${n} ${f}`);
  }
  const heldCount = heldBack?.count ?? 0;
  if (heldCount) parts.push(`${heldCount} resource${heldCount === 1 ? '' : 's'} held back as invalid`);
  if (relay?.testsFailing) parts.push('relay policy tests FAILING');
  const summary = `${nodes.length} node${nodes.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
  if (unreadable.length) parts.push(`${unreadable.length} unreadable message${unreadable.length === 1 ? '' : 's'}`);
  // An unreadable list or status says nothing: it may hide held-back resources or a node out of sync.
  const allInSync = nodes.length > 0 && nodes.every((r) => r.inSync) && heldCount === 0 && !relay?.testsFailing && unreadable.length === 0;
  return { prefix, nodes, summary, ...(heldBack ? { heldBack } : {}), ...(relay ? { relay } : {}), unreadable, allInSync };
}

function row(node: string, s: AgentStatus | undefined, e: Expected | undefined, anyExpected: boolean): FleetRow {
  const flags: FleetFlag[] = [];
  const state = s?.state ?? 'unknown';
  if (!s) flags.push('no-status');
  if (s && (state === 'offline' || state === 'error' || state === 'stale' || state === 'cached')) flags.push(state);
  if (s?.degraded) flags.push('degraded');
  // Behind: the relay expects another hash than the one enforced (an offline node keeps its last hash).
  if (s && e && s.hash !== e.hash) flags.push('behind');
  // The relay expects nothing of a node whose status still names a hash: it has no HEP any more, or
  // this relay is not the one it listens to.
  if (s && !e && anyExpected && s.hash !== undefined && state !== 'offline') flags.push('not-expected');
  // The node itself reports resources held back as invalid (a local-mode agent's files, or the relay's list it heard).
  if ((s?.heldBack ?? 0) > 0) flags.push('held-back');
  if (s?.matchesNothing) flags.push('matches-nothing');
  if (s?.staged?.some((x) => x.wouldAllow > 0 || x.wouldDeny > 0)) flags.push('staged');
  const inSync = s !== undefined && state === 'in-sync' && !flags.includes('behind') && !flags.includes('not-expected') && !flags.includes('held-back');
  return {
    node,
    state,
    ...(s?.hash !== undefined ? { appliedHash: s.hash } : {}),
    ...(e ? { expectedHash: e.hash, expectedRevision: e.revision, issuedAt: e.issuedAt } : {}),
    ...(s?.revision !== undefined ? { revision: s.revision } : {}),
    ...(s ? { since: s.since } : {}),
    ...(s?.lastError !== undefined ? { lastError: s.lastError } : {}),
    ...(s?.staged?.length ? { staged: s.staged } : {}),
    flags,
    inSync,
  };
}

/** "3f2a9c1d2e4b" from "sha256:3f2a9c1d2e4b…"; "-" when absent. */
export function shortHash(h: string | undefined): string {
  if (h === undefined) return '-';
  const hex = h.startsWith('sha256:') ? h.slice(7) : h;
  return hex.slice(0, 12) || '-';
}

/** "42s", "5m", "3h", "2d" since `iso` at `now`; "-" when absent or unparsable. */
export function age(iso: string | undefined, now: number): string {
  if (iso === undefined) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** Control characters (a hostile status's lastError) would rewrite the operator's terminal; bidirectional overrides would reorder a line. */
export function formatFleetText(r: FleetReport, now: number): string {
  const out: string[] = [];
  if (r.relay?.testsFailing) {
    out.push(`RELAY: policy tests FAILING (${r.relay.tests.failed} of ${r.relay.tests.total}) since ${r.relay.since}: revision ${r.relay.failingRevision ?? '?'} is NOT published; ${r.relay.publishedRevision !== undefined ? `revision ${r.relay.publishedRevision} stays in force` : 'the snapshots published before the relay started stay in force'}`);
    for (const f of r.relay.failures) out.push(`  - ${printable(f.test)}: expected ${printable(f.expected)}, got ${printable(f.got)}`);
    out.push('');
  }
  const head = ['', 'NODE', 'STATE', 'APPLIED', 'EXPECTED', 'REVISION', 'AGE', 'FLAGS', 'LAST ERROR'];
  const rows = r.nodes.map((n) => [
    n.inSync ? ' ' : '!',
    n.node,
    n.state,
    shortHash(n.appliedHash),
    shortHash(n.expectedHash),
    n.revision === undefined ? '-' : n.expectedRevision !== undefined && n.expectedRevision !== n.revision ? `${n.revision}/${n.expectedRevision}` : n.revision,
    age(n.since ?? n.issuedAt, now),
    n.flags.map((f) => (f === 'staged' && n.staged ? stagedText(n.staged) : f)).join(',') || '-',
    n.lastError === undefined ? '' : printable(n.lastError.split('\n')[0] ?? '').slice(0, 80),
  ]);
  if (rows.length) {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join(' ').trimEnd();
    out.push(line(head), ...rows.map(line));
  }
  out.push(rows.length ? r.summary : `no node status or expectation under ${r.prefix}/nodes/ (wrong --topic-prefix, or nothing published yet)`);
  const held = r.heldBack;
  if (held && held.count > 0) {
    out.push('', `held back as invalid (${held.count}${held.items.length < held.count ? `, first ${held.items.length} shown` : ''}):`);
    for (const i of held.items) out.push(`  ${printable(i.kind)} ${printable(i.name)} (${printable(i.source)}): ${printable(i.reason)}; ${i.lastValidInForce ? 'last valid version in force' : 'NOT enforced'}`);
  }
  if (r.unreadable.length) {
    out.push('', `unreadable messages (${r.unreadable.length}):`);
    for (const u of r.unreadable) out.push(`  ${printable(u.topic)}: ${printable(u.problem)}`);
  }
  return `${out.join('\n')}\n`;
}

function stagedText(staged: readonly { wouldAllow: number; wouldDeny: number }[]): string {
  const deny = staged.reduce((a, s) => a + s.wouldDeny, 0);
  const allow = staged.reduce((a, s) => a + s.wouldAllow, 0);
  return `staged:${deny}deny/${allow}allow`;
}
