/**
 * The agent's interfaces reporter (`autoHostEndpoint`): publishes the host's report, retained
 * at QoS 1, on `<prefix>/nodes/<node>/interfaces`, for the relay to turn into `<node>-auto-hep`.
 *
 * Published on every (re)connect (the broker may have lost its retained messages) and whenever
 * the content changes: the interfaces are read every `intervalMs` (default 30 s), and at once
 * when the agent's own interface watch calls `refresh()`. Never cleared by the agent, not even
 * on a clean stop: an agent restart must not make the relay delete the node's HEP. Clearing the
 * topic is how an operator says the node is gone.
 */
import type { MqttLink } from '../mqtt/client.ts';
import type { Logger } from '../platform/logger.ts';
import type { HostInterface } from '../calc/dispatch.ts';
import { interfacesTopic } from '../protocol/topics.ts';
import { readHostInterfaces } from '../agent/host-interfaces.ts';
import { parseExcludeSetting, buildReport } from './interface-report.ts';
import { encodeReport } from './report-schema.ts';

export interface InterfaceReporterOptions {
  readonly link: MqttLink;
  readonly topicPrefix: string;
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  /** CIDRs whose addresses are left out (validated by the config schema). */
  readonly exclude?: readonly string[];
  readonly log: Logger;
  readonly intervalMs?: number;
  /** The host's interfaces (default: read from the kernel). */
  readonly read?: () => readonly HostInterface[];
}

export interface InterfaceReporter {
  /** Reads the interfaces now and publishes if the report changed. */
  refresh(): void;
  stop(): void;
}

export function startInterfaceReporter(opts: InterfaceReporterOptions): InterfaceReporter {
  const { link, log, node } = opts;
  const topic = interfacesTopic(opts.topicPrefix, node);
  const read = opts.read ?? readHostInterfaces;
  const ex = parseExcludeSetting(opts.exclude ?? []);
  if (!ex.ok) throw new Error(`autoHostEndpointExclude: ${ex.message}`);
  let published: string | undefined;
  let lastTruncated = '';
  let stopped = false;
  let inFlight = false;
  /** A publish asked for while one was in flight: undefined none, else whether it was forced. */
  let again: boolean | undefined;

  const current = (): string => {
    const built = buildReport({ node, interfaces: read(), labels: opts.labels, exclude: ex.value });
    const t = built.truncated.join('; ');
    if (t !== lastTruncated && t !== '') log.warn({ node, leftOut: built.truncated }, 'interfaces report: some addresses are left out (over the report\'s limits)');
    lastTruncated = t;
    return encodeReport(built.report);
  };

  /** `force`: publish even when unchanged (a new connection). */
  const publish = async (force: boolean): Promise<void> => {
    if (stopped || !link.connected) return;
    if (inFlight) {
      again = (again ?? false) || force;
      return;
    }
    let payload: string;
    try {
      payload = current();
    } catch (e) {
      log.warn({ node, err: (e as Error).message }, 'cannot read the host\'s interfaces; the last report stays');
      return;
    }
    if (!force && payload === published) return;
    inFlight = true;
    try {
      await link.publish(topic, payload, { retain: true, qos: 1 });
      if (payload !== published) log.info({ node, topic, report: JSON.parse(payload).interfaces }, 'interfaces report published');
      published = payload;
    } catch (e) {
      // Sent again on the next change, poll or reconnect.
      log.warn({ node, topic, err: (e as Error).message }, 'cannot publish the interfaces report');
    } finally {
      inFlight = false;
    }
    if (again !== undefined) {
      const f = again;
      again = undefined;
      await publish(f);
    }
  };

  link.onConnect(() => void publish(true));
  if (link.connected) void publish(true);
  const timer = setInterval(() => void publish(false), opts.intervalMs ?? 30_000);
  timer.unref?.();

  return {
    refresh: () => void publish(false),
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
