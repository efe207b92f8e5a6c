/** Config fields shared by the agent and the relay. */
import * as v from 'valibot';
import { topicPrefixProblem } from '../protocol/topics.ts';

export const NonEmpty = v.pipe(v.string(), v.minLength(1, 'must not be empty'));

export const DnsName = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS-1123 subdomain (lower case)'),
  v.maxLength(253),
);

export const BrokerUrl = v.pipe(
  v.string(),
  v.check((s) => {
    try {
      const u = new URL(s);
      return ['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:'].includes(u.protocol) && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be a broker URL such as mqtt://127.0.0.1:1883'),
);

export const TopicPrefix = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = topicPrefixProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);

/** host:port to listen on, e.g. 127.0.0.1:1883 or [::1]:1883. */
export const ListenAddress = v.pipe(
  v.string(),
  v.regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:1883'),
  v.check((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535'),
);

export function splitListen(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}
