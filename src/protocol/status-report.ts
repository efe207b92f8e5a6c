/**
 * The shape of `outpost status -o json` (one object; with --watch, one per line), so scripts and
 * tests can validate what they read. Stable: fields are only ever added. A status file that
 * cannot be read gives `{statusFile, error, exitCode: 2}` instead (StatusReadErrorSchema).
 */
import * as v from 'valibot';
import { ApplyRecordSchema } from './local-status.ts';
import { HeldBackSchema } from './held-back.ts';
import { STATUS_STATES } from './status.ts';

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const Time = v.pipe(v.string(), v.isoTimestamp());
const Traffic = v.object({ packets: Count, bytes: Count });
/** null: no counters (the table is missing or could not be read). */
const MaybeTraffic = v.nullable(Traffic);

const PolicyReportSchema = v.object({
  key: v.string(),
  name: v.string(),
  chain: v.string(),
  evaluated: MaybeTraffic,
  allowed: MaybeTraffic,
  rules: v.array(v.object({ index: Count, comment: v.optional(v.string()), packets: Count, bytes: Count })),
});

const StageReportSchema = v.object({
  stage: v.picklist(['fh', 'th', 'fhfw', 'thfw', 'rfh', 'rth', 'mfh']),
  direction: v.picklist(['ingress', 'egress']),
  kind: v.picklist(['normal', 'forward', 'untracked', 'preDNAT']),
  chain: v.string(),
  tiers: v.array(v.object({ tier: v.string(), defaultAction: v.picklist(['Deny', 'Pass']), policies: v.array(PolicyReportSchema), endOfTierDrop: MaybeTraffic })),
  profiles: v.optional(v.array(v.object({ name: v.string(), chain: v.optional(v.string()), evaluated: MaybeTraffic, allowed: MaybeTraffic }))),
  noProfileDrop: v.optional(MaybeTraffic),
});

const StagedCountSchema = v.object({
  policy: v.string(),
  key: v.optional(v.string()),
  direction: v.picklist(['ingress', 'egress']),
  wouldAllow: Traffic,
  wouldDeny: Traffic,
  wouldPass: Traffic,
  wouldLog: Traffic,
  noMatch: Traffic,
});

export const StatusReportSchema = v.object({
  statusFile: v.string(),
  agent: v.object({ running: v.boolean(), pid: Count, lockHolder: v.optional(Count), version: v.string(), startedAt: Time, updatedAt: Time, how: v.string() }),
  node: v.string(),
  source: v.picklist(['relay', 'bundle', 'local']),
  state: v.picklist(STATUS_STATES),
  since: Time,
  reason: v.optional(v.string()),
  revision: v.optional(v.string()),
  hash: v.optional(v.string()),
  issuedAt: v.optional(Time),
  lastApply: v.optional(ApplyRecordSchema),
  lastGoodApply: v.optional(ApplyRecordSchema),
  table: v.picklist(['present', 'missing', 'unknown']),
  tableProblem: v.optional(v.string()),
  matchesNothing: v.boolean(),
  endpointCount: Count,
  endpoints: v.array(v.object({ name: v.string(), interfaces: v.array(v.string()), stages: v.array(StageReportSchema) })),
  staged: v.optional(v.array(StagedCountSchema)),
  refused: v.record(v.string(), Count),
  lastRefusal: v.optional(v.object({ reason: v.string(), message: v.string(), at: Time })),
  heldBack: v.optional(HeldBackSchema),
  exitCode: v.picklist([0, 1]),
  problems: v.array(v.string()),
  warnings: v.array(v.string()),
});

export const StatusReadErrorSchema = v.object({ statusFile: v.string(), error: v.string(), exitCode: v.literal(2) });

export type StatusReportJson = v.InferOutput<typeof StatusReportSchema>;
