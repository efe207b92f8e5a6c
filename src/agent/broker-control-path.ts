/**
 * A relay-mode agent's live control path to its broker: the addresses the failsafe rules allow
 * (broker-path.ts), the resolvers DNS goes to when the broker is a name, and whether neighbour
 * discovery must stay open (control-path.ts).
 *
 * Kept apart from relay-mode.ts because it owns state of its own with its own lifecycle: the
 * addresses come from the state dir at boot (so a deny-all ruleset never cuts the agent off
 * before the first lookup) and change only when the name resolves to a different set. No broker
 * (air-gapped): there is no path, and every method leaves the ruleset as rendered.
 */
import type { FailsafePlanRule } from '../plan/schema.ts';
import type { Logger } from '../platform/logger.ts';
import type { RenderResult } from '../render/ruleset.ts';
import { brokerPathRules, brokerTarget, pathNeedsNeighbourDiscovery, resolveBroker, type BrokerTarget } from './broker-path.ts';
import { systemResolvers, withNeighbourDiscovery } from './control-path.ts';
import type { StateStore } from './state-store.ts';

export class BrokerControlPath {
  /** The broker's URL and where it is; undefined when there is no broker. */
  readonly target: (BrokerTarget & { readonly url: string }) | undefined;
  readonly resolvers: readonly string[];
  /** The broker's addresses now on the failsafe path (literal, or last resolved and cached). */
  addrs: string[];

  constructor(broker: string | undefined, resolvers: readonly string[] | undefined, private readonly store: StateStore, private readonly log: Logger) {
    const target = broker !== undefined ? { url: broker, ...brokerTarget(broker) } : undefined;
    this.target = target;
    this.resolvers = target ? (resolvers ?? systemResolvers()) : [];
    this.addrs = !target ? [] : target.isName ? (store.reader?.loadBrokerAddresses(target.url) ?? []) : [target.host];
    if (target?.isName && this.addrs.length) log.info({ broker: target.host, addresses: this.addrs }, 'broker path from the last resolved addresses');
    if (target?.isName && !this.resolvers.length) log.warn('the broker is a host name but no DNS resolver is configured (resolv.conf or resolvers): DNS is not on the failsafe path');
  }

  /** The outbound failsafe rules that keep the broker (and DNS) reachable whatever the plan says. */
  always(): { outbound?: FailsafePlanRule[] } {
    return this.target ? { outbound: brokerPathRules(this.target, this.addrs, this.resolvers) } : {};
  }

  /** The rendered ruleset, with neighbour discovery accepted when any of the path is IPv6. */
  complete(rendered: RenderResult): RenderResult {
    return this.target && pathNeedsNeighbourDiscovery(this.target, this.addrs, this.resolvers) ? withNeighbourDiscovery(rendered) : rendered;
  }

  /**
   * Resolves the broker name again; true when the set of addresses changed (stored in the state
   * dir, and the caller must re-apply). A failed lookup keeps the last known addresses.
   */
  async refresh(why: string): Promise<boolean> {
    const { target, log } = this;
    if (!target?.isName) return false;
    const r = await resolveBroker(target);
    if (r instanceof Error) {
      log.warn({ err: r.message, from: why }, 'broker name not resolved; the last known broker addresses stay on the failsafe path');
      return false;
    }
    if (r.join() === this.addrs.join()) return false;
    log.info({ broker: target.host, addresses: r, before: this.addrs, from: why }, 'broker addresses changed; failsafe path updated');
    this.addrs = r;
    this.store.write('broker-addresses', (c) => c.saveBrokerAddresses(target.url, r));
    return true;
  }
}
