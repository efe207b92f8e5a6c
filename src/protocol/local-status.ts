/**
 * The agent's status file, `<state>/status.json`: what this host enforces, written by the agent
 * (agent/status-file.ts) on every change and read by `outpost status`, whether or not the agent
 * is still running. Counters are not in it: they live in the kernel and `status` reads them from
 * nft, so the file changes only when something the agent did changes.
 *
 * Review notes:
 * - `format` is 1; a reader refuses another format instead of guessing.
 * - Unknown fields are ignored (valibot's object strips them), so a newer agent's extra facts do
 *   not stop an older `status` from reading the rest.
 * - Chain names are written by the agent (render/naming.ts), so the reader needs no plan to find
 *   the counters of a policy.
 */
import * as v from 'valibot';
import { HeldBackSchema } from './held-back.ts';
import { MAX_LAST_ERROR, STATUS_STATES } from './status.ts';

export const LOCAL_STATUS_FORMAT = 1;
export const STATUS_FILE = 'status.json';
/** Caps that keep the file small on a host with a very large plan (the log and `render` have the rest). */
export const MAX_FILE_ENDPOINTS = 256;
export const MAX_FILE_POLICIES = 2000;

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const Time = v.pipe(v.string(), v.isoTimestamp());
const Name = v.pipe(v.string(), v.minLength(1), v.maxLength(300));
const Chain = v.pipe(v.string(), v.minLength(1), v.maxLength(256));
const Text = v.pipe(v.string(), v.maxLength(MAX_LAST_ERROR));

const SOURCES = ['relay', 'bundle', 'local'] as const;

export const PolicyRefSchema = v.object({
  /** "<tier>/<name>". */
  key: Name,
  name: Name,
  /** The nft chain holding its rules for this direction. */
  chain: Chain,
});

export const TierRefSchema = v.object({
  tier: Name,
  defaultAction: v.picklist(['Deny', 'Pass']),
  policies: v.array(PolicyRefSchema),
});

export const StageRefSchema = v.object({
  /** The endpoint chain's stage (render/naming.ts): fh th fhfw thfw rfh rth mfh. */
  stage: v.picklist(['fh', 'th', 'fhfw', 'thfw', 'rfh', 'rth', 'mfh']),
  direction: v.picklist(['ingress', 'egress']),
  kind: v.picklist(['normal', 'forward', 'untracked', 'preDNAT']),
  chain: Chain,
  tiers: v.array(TierRefSchema),
  /** Normal stages only: the profiles in order (`chain` absent: the profile does not exist, so it drops). */
  profiles: v.optional(v.array(v.object({ name: Name, chain: v.optional(Chain) }))),
});

export const EndpointStatusSchema = v.object({
  name: Name,
  /** The interfaces it governs on this host; "*" for the wildcard HEP (every other interface). */
  interfaces: v.array(v.pipe(v.string(), v.maxLength(64))),
  /** Stages in evaluation order: untracked (raw), pre-DNAT (mangle), normal, forward. */
  stages: v.array(StageRefSchema),
});

export const ApplyRecordSchema = v.object({
  at: Time,
  durationMs: v.pipe(v.number(), v.minValue(0)),
  ok: v.boolean(),
  why: v.pipe(v.string(), v.maxLength(100)),
  error: v.optional(Text),
});

export const LocalStatusSchema = v.object({
  format: v.literal(LOCAL_STATUS_FORMAT),
  node: Name,
  source: v.picklist(SOURCES),
  state: v.picklist(STATUS_STATES),
  /** When the state was entered. */
  since: Time,
  /** Why, for error (and stale). */
  reason: v.optional(Text),
  revision: v.optional(v.pipe(v.string(), v.regex(/^(0|[1-9][0-9]*)$/))),
  hash: v.optional(v.pipe(v.string(), v.maxLength(200))),
  issuedAt: v.optional(Time),
  /** The last apply, successful or not. */
  lastApply: v.optional(ApplyRecordSchema),
  /** The last successful apply (what is in force). */
  lastGoodApply: v.optional(ApplyRecordSchema),
  endpoints: v.pipe(v.array(EndpointStatusSchema), v.maxLength(MAX_FILE_ENDPOINTS)),
  /** How many HEPs the plan has when `endpoints` was capped. */
  endpointCount: Count,
  /** True when this node matches no HostEndpoint: nothing is governed. */
  matchesNothing: v.boolean(),
  refused: v.record(v.pipe(v.string(), v.regex(/^[a-z][a-z-]*$/)), Count),
  lastRefusal: v.optional(v.object({ reason: v.pipe(v.string(), v.maxLength(100)), message: Text, at: Time })),
  heldBack: v.optional(HeldBackSchema),
  /** The plan's staged policies (count-only: status reads what they would have done from nft). */
  staged: v.optional(v.pipe(v.array(v.object({ key: Name, name: Name })), v.maxLength(MAX_FILE_POLICIES))),
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  version: v.pipe(v.string(), v.maxLength(100)),
  startedAt: Time,
  updatedAt: Time,
});

export type LocalStatus = v.InferOutput<typeof LocalStatusSchema>;
export type EndpointStatus = v.InferOutput<typeof EndpointStatusSchema>;
export type StageRef = v.InferOutput<typeof StageRefSchema>;

/** Parses the status file's text; never throws. The message names the field. */
export function parseLocalStatus(text: string): { ok: true; status: LocalStatus } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, message: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (typeof value === 'object' && value !== null && 'format' in value && value.format !== LOCAL_STATUS_FORMAT) {
    return { ok: false, message: `format ${JSON.stringify(value.format).slice(0, 20)} is not one this outpost reads (${LOCAL_STATUS_FORMAT}); written by another version?` };
  }
  const r = v.safeParse(LocalStatusSchema, value);
  if (r.success) return { ok: true, status: r.output };
  const issue = r.issues[0];
  const path = (issue.path ?? []).map((p) => String((p as { key: unknown }).key)).join('.');
  return { ok: false, message: `${path || 'status'}: ${issue.message}` };
}
