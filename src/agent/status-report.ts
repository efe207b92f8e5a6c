/**
 * What `outpost status` reports (its `-o json` shape) and how it prints it: the status file,
 * whether the agent runs, and the kernel's counters, put together. Pure: the command reads the
 * file, the lock and nft and hands them in.
 *
 * Exit codes: 0 when the agent runs, is in sync and its table is in the kernel; 1 when anything
 * is degraded (cached, stale, error, the agent not running, the table missing); 2 when the
 * status file cannot be read (the command says so before it gets here).
 */
import type { HeldBack } from '../protocol/held-back.ts';
import type { LocalStatus, StageRef } from '../protocol/local-status.ts';
import { chainCounters, dropsOf, jumpsOf, type ChainCounters, type Traffic } from '../nft/counters.ts';
import type { StagedCount } from '../nft/staged-counters.ts';
import type { CounterListing } from '../nft/counter-listing.ts';

/** What the command found about the kernel's table. */
/** What `nft -t -j list table` gave (src/nft/counter-listing.ts). */
export type TableRead = CounterListing;

export interface AgentProcess {
  readonly running: boolean;
  /** The pid holding the state dir's lock, when one does. */
  readonly lockHolder?: number;
  /** How it was told (lock held, or only the pid alive when locks cannot be read). */
  readonly how: string;
}

export interface PolicyReport {
  readonly key: string;
  readonly name: string;
  readonly chain: string;
  /** null: no counters (the table is not there or could not be read). */
  readonly evaluated: Traffic | null;
  readonly allowed: Traffic | null;
  /** The policy chain's rules for this direction (shared by every endpoint), with their own counters. */
  readonly rules: readonly { readonly index: number; readonly comment?: string; readonly packets: number; readonly bytes: number }[];
}

export interface StageReport {
  readonly stage: StageRef['stage'];
  readonly direction: 'ingress' | 'egress';
  readonly kind: StageRef['kind'];
  readonly chain: string;
  readonly tiers: readonly { readonly tier: string; readonly defaultAction: 'Deny' | 'Pass'; readonly policies: readonly PolicyReport[]; readonly endOfTierDrop: Traffic | null }[];
  readonly profiles?: readonly { readonly name: string; readonly chain?: string; readonly evaluated: Traffic | null; readonly allowed: Traffic | null }[];
  /** Normal stages: packets no profile accepted (dropped). */
  readonly noProfileDrop?: Traffic | null;
}

export interface StatusReport {
  readonly statusFile: string;
  readonly agent: { readonly running: boolean; readonly pid: number; readonly lockHolder?: number; readonly version: string; readonly startedAt: string; readonly updatedAt: string; readonly how: string };
  readonly node: string;
  readonly source: LocalStatus['source'];
  /** The file's state, except 'error' when the table it says is in force is missing. */
  readonly state: LocalStatus['state'];
  readonly since: string;
  readonly reason?: string;
  readonly revision?: string;
  readonly hash?: string;
  readonly issuedAt?: string;
  readonly lastApply?: LocalStatus['lastApply'];
  readonly lastGoodApply?: LocalStatus['lastGoodApply'];
  readonly table: 'present' | 'missing' | 'unknown';
  readonly tableProblem?: string;
  readonly matchesNothing: boolean;
  readonly endpointCount: number;
  readonly endpoints: readonly { readonly name: string; readonly interfaces: readonly string[]; readonly stages: readonly StageReport[] }[];
  /** Staged policies' would-be verdicts (absent when the plan has none or the table cannot be read). */
  readonly staged?: readonly StagedCount[];
  readonly refused: Readonly<Record<string, number>>;
  readonly lastRefusal?: LocalStatus['lastRefusal'];
  readonly heldBack?: HeldBack;
  /** 0 in sync, 1 degraded. */
  readonly exitCode: 0 | 1;
  /** Every reason it is not 0, in plain sentences. */
  readonly problems: readonly string[];
  /** What is worth knowing but does not make it degraded (no HEP matched, held-back resources, counters unreadable). */
  readonly warnings: readonly string[];
}

export const TABLE_MISSING = 'table missing: the nft table inet outpost is not in the kernel (deleted by someone else, or flushed by a reboot or a firewall reload); outpost enforces nothing on this host right now';

/**
 * `stateDirProblem`: why the agent cannot write its state dir now (read-only, full). The agent
 * then cannot update this file either, so what it says may be out of date (an apply since, the
 * error state that failed write itself causes): never reported as in sync.
 */
export function buildReport(o: { file: string; status: LocalStatus; agent: AgentProcess; table: TableRead; staged?: (listing: unknown) => StagedCount[]; stateDirProblem?: string | undefined }): StatusReport {
  const s = o.status;
  const counters: ChainCounters | undefined = o.table.state === 'present' ? chainCounters(o.table.listing) : undefined;
  const problems: string[] = [];
  let state = s.state;
  let reason = s.reason;
  // The agent says what it applied; the kernel says whether it is still there.
  if (o.table.state === 'missing' && s.lastGoodApply !== undefined) {
    state = 'error';
    reason = TABLE_MISSING;
  }
  if (state !== 'in-sync') problems.push(`state ${state}${reason ? `: ${reason}` : ''}`);
  if (!o.agent.running) problems.push(`the agent is not running (${o.agent.how}); what it last applied stays in force, nothing keeps it current`);
  if (o.table.state === 'missing' && state !== 'error') problems.push(TABLE_MISSING);
  if (o.stateDirProblem !== undefined && o.agent.running) problems.push(`${o.stateDirProblem}: the agent cannot update this file, so it may be out of date (its log has the current state)`);
  const warnings: string[] = [];
  if (o.table.state === 'unknown') warnings.push(`counters not read: ${o.table.reason}`);
  if (s.matchesNothing) warnings.push(`node '${s.node}' matches no HostEndpoint: no interface is governed`);
  if (s.heldBack && s.heldBack.count > 0) warnings.push(`${s.heldBack.count} resource${s.heldBack.count === 1 ? ' is' : 's are'} held back as invalid`);

  const endpoints = s.endpoints.map((ep) => ({ name: ep.name, interfaces: ep.interfaces, stages: ep.stages.map((st) => stageReport(st, counters)) }));
  const staged = o.table.state === 'present' && o.staged ? o.staged(o.table.listing) : undefined;
  return {
    statusFile: o.file,
    agent: { running: o.agent.running, pid: s.pid, ...(o.agent.lockHolder !== undefined ? { lockHolder: o.agent.lockHolder } : {}), version: s.version, startedAt: s.startedAt, updatedAt: s.updatedAt, how: o.agent.how },
    node: s.node,
    source: s.source,
    state,
    since: s.since,
    ...(reason !== undefined ? { reason } : {}),
    ...(s.revision !== undefined ? { revision: s.revision } : {}),
    ...(s.hash !== undefined ? { hash: s.hash } : {}),
    ...(s.issuedAt !== undefined ? { issuedAt: s.issuedAt } : {}),
    ...(s.lastApply ? { lastApply: s.lastApply } : {}),
    ...(s.lastGoodApply ? { lastGoodApply: s.lastGoodApply } : {}),
    table: o.table.state,
    ...(o.table.state === 'unknown' ? { tableProblem: o.table.reason } : {}),
    matchesNothing: s.matchesNothing,
    endpointCount: s.endpointCount,
    endpoints,
    ...(staged && staged.length ? { staged } : {}),
    refused: s.refused,
    ...(s.lastRefusal ? { lastRefusal: s.lastRefusal } : {}),
    ...(s.heldBack ? { heldBack: s.heldBack } : {}),
    exitCode: problems.length === 0 ? 0 : 1,
    problems,
    warnings,
  };
}

function stageReport(st: StageRef, counters: ChainCounters | undefined): StageReport {
  const rules = counters?.get(st.chain);
  const jumps = rules ? jumpsOf(rules) : undefined;
  const drops = rules ? dropsOf(rules) : undefined;
  const at = <T>(m: Map<string, T> | undefined, k: string | undefined, zero: T): T | null => (m === undefined ? null : (k !== undefined ? m.get(k) : undefined) ?? zero);
  const zero: Traffic = { packets: 0, bytes: 0 };
  const tiers = st.tiers.map((t) => ({
    tier: t.tier,
    defaultAction: t.defaultAction,
    policies: t.policies.map((p) => {
      const j = jumps?.get(p.chain);
      return {
        key: p.key,
        name: p.name,
        chain: p.chain,
        evaluated: jumps ? (j?.evaluated ?? zero) : null,
        allowed: jumps ? (j?.allowed ?? zero) : null,
        rules: (counters?.get(p.chain) ?? []).map((r) => ({ index: r.index, ...(r.comment !== undefined ? { comment: r.comment } : {}), packets: r.packets, bytes: r.bytes })),
      };
    }),
    endOfTierDrop: (st.kind === 'normal' || st.kind === 'forward') && t.defaultAction === 'Deny' ? at(drops, `end of tier ${t.tier}: drop`, zero) : null,
  }));
  const out: StageReport = { stage: st.stage, direction: st.direction, kind: st.kind, chain: st.chain, tiers };
  if (st.profiles === undefined) return out;
  return {
    ...out,
    profiles: st.profiles.map((p) => {
      const j = p.chain !== undefined ? jumps?.get(p.chain) : undefined;
      return { name: p.name, ...(p.chain !== undefined ? { chain: p.chain } : {}), evaluated: jumps ? (j?.evaluated ?? zero) : null, allowed: jumps ? (j?.allowed ?? zero) : null };
    }),
    noProfileDrop: at(drops, 'no profile matched: drop', zero),
  };
}
