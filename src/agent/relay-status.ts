/**
 * Relay mode's facts for the retained status beyond the state machine (relay-mode.ts keeps the
 * state): what was last applied (HEPs, interfaces, duration), the relay's held-back count, the
 * staged policies' would-be verdicts, and the offline status (last will and clean stop) that
 * keeps naming the revision in force.
 */
import type { Dispatch } from '../calc/dispatch.ts';
import type { NodePlan } from '../plan/schema.ts';
import type { Logger } from '../platform/logger.ts';
import { lastWillPayload } from '../protocol/status.ts';
import { decodeHeldBack } from '../protocol/held-back-decode.ts';
import type { Snapshot } from '../protocol/snapshot.ts';
import type { AgentObserver, AgentSource } from './observations.ts';
import { noEndpointWarning } from './no-endpoint.ts';
import { endpointSummary, type StatusExtras } from './status-extras.ts';
import { watchStaged, type StagedWatch } from './staged-summary.ts';

export class RelayStatusFacts {
  /** Spread into every status the agent publishes. */
  readonly extras: StatusExtras = {};
  /** The revision the broker's copy of our last will names (undefined: none yet). */
  private willRevision: string | undefined;
  private lastNoEndpoint: string | undefined;
  private readonly staged: StagedWatch;

  constructor(private readonly o: { readonly node: string; readonly nft: string; readonly log: Logger; readonly observe: Required<AgentObserver>; readonly republish: () => void }) {
    // At most once a minute, published only on change (staged-summary.ts).
    this.staged = watchStaged({
      nft: o.nft,
      log: o.log,
      onChange: (s) => {
        if (s) this.extras.staged = s;
        else delete this.extras.staged;
        o.republish();
      },
    });
  }

  /** A plan was rendered for this host: warns (once per change) when the node matches no HEP. */
  rendered(plan: Pick<NodePlan, 'endpoints'>, revision: string): void {
    const none = plan.endpoints.length === 0 ? noEndpointWarning(this.o.node) : undefined;
    if (none !== undefined && none !== this.lastNoEndpoint) this.o.log.warn({ node: this.o.node, revision }, none);
    this.lastNoEndpoint = none;
  }

  /** A plan is in force: what the status says about it. */
  applied(plan: Pick<NodePlan, 'endpoints' | 'staged'>, dispatch: Dispatch, at: Date, durationMs: number): void {
    Object.assign(this.extras, { appliedAt: at, applyMs: durationMs, ...endpointSummary(plan, dispatch) });
    this.staged.setPlan(plan.staged);
  }

  /** The relay's retained list of resources it holds back as invalid; a malformed one is logged and ignored. */
  heardHeldBack(payload: Uint8Array): void {
    const r = decodeHeldBack(payload);
    if (!r.ok) return void this.o.log.warn({ err: r.message }, 'ignoring a malformed held-back list from the broker');
    this.extras.heldBack = r.heldBack?.count;
    this.o.observe.heldBackChanged({ heldBack: r.heldBack, at: new Date() });
    this.o.republish();
  }

  /** The offline status (last will, clean stop): what is in force stays named. */
  offline(at: Date, held: Snapshot | undefined, source: AgentSource): Uint8Array {
    return lastWillPayload(this.o.node, at, { revision: held?.revision, hash: held?.hash, issuedAt: held?.issuedAt, source, ...this.extras });
  }

  /** The will for the connection being made (remembers which revision it names). */
  will(at: Date, held: Snapshot | undefined, source: AgentSource): Uint8Array {
    this.willRevision = held?.revision;
    return this.offline(at, held, source);
  }

  /**
   * A will naming no revision is renewed (one reconnect) once a snapshot is in force, so an agent
   * that dies after its first snapshot is not reported offline with nothing. Later revisions are
   * not: a reconnect of every agent on every policy change would load the broker for little; the
   * will then names the revision in force at connect time (a clean stop names the current one).
   */
  renewWillIfBlank(held: Snapshot | undefined, link: { readonly connected: boolean; renewWill?(): Promise<void> } | undefined): void {
    if (this.willRevision !== undefined || !held || !link?.connected || !link.renewWill) return;
    this.o.log.info({ node: this.o.node, revision: held.revision }, 'renewing the last will with the revision now in force (one reconnect)');
    void link.renewWill().catch((e: Error) => this.o.log.warn({ err: e.message }, 'cannot renew the last will'));
  }

  stop(): void {
    this.staged.stop();
  }
}
