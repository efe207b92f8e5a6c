import { describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { formatListenAddress, MetricsListenSchema, parseListenAddress } from '../../../src/observe/listen-address.ts';
import { AgentConfigSchema } from '../../../src/config/agent-config.ts';
import { RelayConfigSchema } from '../../../src/config/relay-config.ts';

describe('metricsListen addresses', () => {
  test.each([
    ['127.0.0.1:9469', { host: '127.0.0.1', port: 9469 }],
    ['[::1]:9469', { host: '::1', port: 9469 }],
    ['[fd00::5]:80', { host: 'fd00::5', port: 80 }],
    [':9469', { host: undefined, port: 9469 }],
    ['  198.18.0.1:1  ', { host: '198.18.0.1', port: 1 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
  ])('%p is accepted', (text, address) => {
    expect(parseListenAddress(text)).toEqual({ ok: true, address });
    expect(formatListenAddress(address)).toBe(text.trim());
  });

  test.each(['off', '', '   '])('%p is off', (text) => expect(parseListenAddress(text)).toEqual({ ok: true, address: undefined }));

  test.each([
    ['9469', 'is not a listen address'],
    ['localhost:9469', '"localhost" is not an IPv4 address'],
    ['::1:9469', 'is not a listen address'],
    ['[::1]', 'is not a listen address'],
    ['[127.0.0.1]:9469', '"127.0.0.1" in brackets is not an IPv6 address'],
    ['[]:9469', 'nothing in brackets'],
    ['127.0.0.1:65536', 'the port must be a number from 0 to 65535'],
    ['127.0.0.1:-1', 'the port must be a number'],
    ['127.0.0.1:', 'the port must be a number'],
    ['127.0.0.1:94 69', 'the port must be a number'],
    ['256.0.0.1:9469', '"256.0.0.1" is not an IPv4 address'],
    ['http://127.0.0.1:9469', 'is not a listen address'],
    ['127.0.0.1:9469\n', undefined],
    ['x'.repeat(100_000) + ':1', 'is not an IPv4 address'],
  ])('%p is refused, saying why', (text, why) => {
    const r = parseListenAddress(text);
    if (why === undefined) return expect(r.ok).toBe(true); // surrounding whitespace is trimmed
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toContain(why);
    }
  });

  test('the config schemas take it, with the setting named in the error', () => {
    const base = { node: 'gw1', resources: ['/r'] };
    expect(v.safeParse(AgentConfigSchema, { ...base }).success).toBe(true);
    const agent = v.safeParse(AgentConfigSchema, { ...base, metricsListen: '[::1]:9469', logFormat: 'text' });
    expect(agent.success && agent.output.metricsListen).toBe('[::1]:9469');
    expect(agent.success && agent.output.logFormat).toBe('text');
    const bad = v.safeParse(AgentConfigSchema, { ...base, metricsListen: 'localhost:9469' });
    expect(bad.success).toBe(false);
    expect(v.flatten(bad.issues!).nested?.['metricsListen']?.[0]).toContain('"localhost" is not an IPv4 address');
    expect(v.safeParse(AgentConfigSchema, { ...base, logFormat: 'pretty' }).success).toBe(false);
    // Counters are served on the endpoint: asking for them without one is a mistake to report.
    const counters = v.safeParse(AgentConfigSchema, { ...base, metricsPolicyCounters: true });
    expect(counters.success).toBe(false);
    expect(JSON.stringify(counters.issues)).toContain('metricsPolicyCounters: only with metricsListen');
    const relay = v.safeParse(RelayConfigSchema, { resources: ['/r'], listen: '127.0.0.1:1883', insecure: true, signingKey: '/k' });
    expect(relay.success).toBe(true);
    // Unset on the relay means the default address, applied where it starts (endpoints.ts).
    expect(relay.success && relay.output.metricsListen).toBeUndefined();
    expect(relay.success && relay.output.logFormat).toBe('json');
    expect(v.safeParse(RelayConfigSchema, { resources: ['/r'], listen: '127.0.0.1:1883', insecure: true, signingKey: '/k', metricsListen: 'off' }).success).toBe(true);
    expect(v.safeParse(MetricsListenSchema, 42).success).toBe(false);
  });
});
