/**
 * The agent's status message, retained on `<prefix>/nodes/<node>/status` and read by the relay and
 * `outpost fleet`. The agent registers an 'offline' status as its MQTT last will, so the broker
 * publishes it when the agent vanishes without saying goodbye.
 *
 * States:
 * - in-sync: enforcing the newest snapshot the broker delivered;
 * - cached:  enforcing the snapshot from its SQLite cache, not (yet) confirmed by the broker;
 * - error:   the last apply or the last snapshot failed (`lastError` says why), the previous ruleset stays;
 * - stale:   no snapshot issued within the agent's maximum age arrived (the relay stopped re-signing,
 *            or the agent is cut off from it); the last snapshot stays in force. `staleCount` counts
 *            how often that happened since the agent started, `issuedAt` says how old it is,
 *            `degraded` is true while the operator's degraded policy is enforced instead;
 * - offline: the last will; `since` is when that agent connected, because the will is fixed then.
 *            It names the revision and hash in force at that moment (MQTT cannot change a will
 *            without reconnecting, so a revision applied later is not in it until the next
 *            reconnect; an agent that connected with nothing in force renews it once, after its
 *            first snapshot); a clean stop publishes 'offline' with the revision in force then.
 *
 * Optional facts (all absent in statuses from older agents, and ignored by older readers):
 * source, appliedAt/applyMs (the last successful apply), endpoints (each HEP and the interfaces
 * it governs, capped), heldBack (how many resources the relay holds back as invalid),
 * matchesNothing (the node matches no HEP), staged (per staged policy, would-allow/would-deny
 * packets, capped).
 *
 * Review notes:
 * - Encoded as canonical JSON, so an unchanged status republishes identical bytes.
 * - The schema accepts refusal reasons it does not know: a newer agent may count new ones, and an
 *   older fleet view must still read its status.
 * - Statuses are not signed: the broker's per-node ACL and client certificate say who wrote them.
 */
import * as v from 'valibot';
import { canonicalBytes } from './canonical-json.ts';
import { decodeJsonPayload } from './json-payload.ts';
import type { RefusalReason } from './snapshot.ts';

export const STATUS_STATES = ['in-sync', 'cached', 'error', 'stale', 'offline'] as const;
export type StatusState = (typeof STATUS_STATES)[number];

/** Long enough for an nft error's first lines, short enough for a retained message on a small broker. */
export const MAX_LAST_ERROR = 2000;

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

/** Caps that keep a retained status small on a small broker; the local status file has everything. */
export const MAX_STATUS_ENDPOINTS = 64;
export const MAX_STATUS_INTERFACES = 32;
export const MAX_STATUS_STAGED = 50;

export const StatusEndpointSchema = v.object({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(253)),
  /** Interface names it governs; "*" for the wildcard HEP (every interface no other HEP governs). */
  interfaces: v.pipe(v.array(v.pipe(v.string(), v.maxLength(64))), v.maxLength(MAX_STATUS_INTERFACES)),
});

export const StagedSummarySchema = v.object({
  policy: v.pipe(v.string(), v.minLength(1), v.maxLength(253)),
  wouldAllow: Count,
  wouldDeny: Count,
});

export const AgentStatusSchema = v.object({
  node: v.pipe(v.string(), v.minLength(1)),
  state: v.picklist(STATUS_STATES),
  revision: v.optional(v.pipe(v.string(), v.regex(/^(0|[1-9][0-9]*)$/))),
  hash: v.optional(v.string()),
  lastError: v.optional(v.pipe(v.string(), v.maxLength(MAX_LAST_ERROR))),
  refused: v.record(v.pipe(v.string(), v.regex(/^[a-z][a-z-]*$/)), Count),
  /** ISO 8601 time the snapshot in force was issued (signed) by the relay. */
  issuedAt: v.optional(v.pipe(v.string(), v.isoTimestamp())),
  /** How many times the agent went stale since it started. */
  staleCount: v.optional(Count),
  /** True while the operator's degraded policy is enforced instead of the stale snapshot. */
  degraded: v.optional(v.boolean()),
  /** ISO 8601 time the state was entered. */
  since: v.pipe(v.string(), v.isoTimestamp()),
  /** Where the policy in force came from: relay, bundle or local (a newer agent may name others). */
  source: v.optional(v.pipe(v.string(), v.regex(/^[a-z][a-z-]{0,31}$/))),
  /** ISO 8601 time of the last successful apply, and how long it took (ms). */
  appliedAt: v.optional(v.pipe(v.string(), v.isoTimestamp())),
  applyMs: v.optional(Count),
  endpoints: v.optional(v.pipe(v.array(StatusEndpointSchema), v.maxLength(MAX_STATUS_ENDPOINTS))),
  /** How many HEPs there are when `endpoints` was capped. */
  endpointCount: v.optional(Count),
  /** Resources the relay holds back as invalid (from its retained list). */
  heldBack: v.optional(Count),
  /** True when this node matches no HostEndpoint: nothing is governed. */
  matchesNothing: v.optional(v.boolean()),
  /** Staged policies' would-be verdicts, in packets since the ruleset was applied. */
  staged: v.optional(v.pipe(v.array(StagedSummarySchema), v.maxLength(MAX_STATUS_STAGED))),
});

export type AgentStatus = v.InferOutput<typeof AgentStatusSchema>;
export type StatusEndpoint = v.InferOutput<typeof StatusEndpointSchema>;
export type StagedSummary = v.InferOutput<typeof StagedSummarySchema>;

export interface StatusInput {
  readonly node: string;
  readonly state: StatusState;
  readonly revision?: string | undefined;
  readonly hash?: string | undefined;
  readonly lastError?: string | undefined;
  /** Refusal counters since the agent started; zero counts may be left out. */
  readonly refused?: Readonly<Partial<Record<RefusalReason, number>>>;
  /** The issue time of the snapshot in force (ms since the epoch). */
  readonly issuedAt?: number | undefined;
  /** Times the agent went stale since it started; zero is left out. */
  readonly staleCount?: number | undefined;
  /** The degraded policy is in force (only while stale); false is left out. */
  readonly degraded?: boolean | undefined;
  /** When the state was entered, passed in because this module reads no clock. */
  readonly since: Date;
  readonly source?: string | undefined;
  readonly appliedAt?: Date | undefined;
  readonly applyMs?: number | undefined;
  /** Capped here (MAX_STATUS_ENDPOINTS, MAX_STATUS_INTERFACES); endpointCount says how many there were. */
  readonly endpoints?: readonly StatusEndpoint[] | undefined;
  readonly heldBack?: number | undefined;
  readonly matchesNothing?: boolean | undefined;
  readonly staged?: readonly StagedSummary[] | undefined;
}

/** The status object, with absent fields left out (never `undefined`) so it encodes canonically. */
export function buildStatus(input: StatusInput): AgentStatus {
  const refused: Record<string, number> = {};
  for (const [reason, count] of Object.entries(input.refused ?? {})) {
    if (count !== undefined && count > 0) refused[reason] = count;
  }
  const status: AgentStatus = { node: input.node, state: input.state, refused, since: input.since.toISOString() };
  if (input.revision !== undefined) status.revision = input.revision;
  if (input.hash !== undefined) status.hash = input.hash;
  if (input.lastError !== undefined) status.lastError = truncate(input.lastError);
  if (input.issuedAt !== undefined) status.issuedAt = new Date(input.issuedAt).toISOString();
  if (input.staleCount !== undefined && input.staleCount > 0) status.staleCount = input.staleCount;
  if (input.degraded === true) status.degraded = true;
  if (input.source !== undefined) status.source = input.source;
  if (input.appliedAt !== undefined) status.appliedAt = input.appliedAt.toISOString();
  // Whole ms: canonical JSON carries integers only.
  if (input.applyMs !== undefined) status.applyMs = Math.max(0, Math.round(input.applyMs));
  if (input.endpoints !== undefined) {
    status.endpoints = input.endpoints.slice(0, MAX_STATUS_ENDPOINTS).map((e) => ({ name: e.name, interfaces: e.interfaces.slice(0, MAX_STATUS_INTERFACES) }));
    if (input.endpoints.length > MAX_STATUS_ENDPOINTS) status.endpointCount = input.endpoints.length;
  }
  if (input.heldBack !== undefined) status.heldBack = input.heldBack;
  if (input.matchesNothing === true) status.matchesNothing = true;
  if (input.staged !== undefined) status.staged = input.staged.slice(0, MAX_STATUS_STAGED).map((s) => ({ policy: s.policy, wouldAllow: s.wouldAllow, wouldDeny: s.wouldDeny }));
  return status;
}

/** The retained MQTT payload for a status (canonical JSON, UTF-8). */
export function encodeStatus(input: StatusInput): Uint8Array {
  return canonicalBytes(buildStatus(input));
}

/**
 * The offline payload: the last will registered at connect time (`connectedAt` becomes `since`),
 * also published on a clean stop. `inForce` keeps the revision and hash (and the other facts) of
 * what stays enforced while the agent is away.
 */
export function lastWillPayload(node: string, connectedAt: Date, inForce: Omit<StatusInput, 'node' | 'state' | 'since' | 'lastError'> = {}): Uint8Array {
  return encodeStatus({ ...inForce, node, state: 'offline', since: connectedAt });
}

/** Parses a status payload from the broker (relay, fleet view); never throws. */
export function decodeStatus(payload: Uint8Array): { ok: true; status: AgentStatus } | { ok: false; message: string } {
  const r = decodeJsonPayload(AgentStatusSchema, payload, 'status');
  if (r.ok) return { ok: true, status: r.value };
  return { ok: false, message: r.notJson ? `status is ${r.message}` : r.message };
}

function truncate(s: string): string {
  return s.length <= MAX_LAST_ERROR ? s : `${s.slice(0, MAX_LAST_ERROR - 1)}…`;
}
