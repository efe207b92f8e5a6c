/** An air-gapped agent: signed bundles (bundleDir + trustKey) are a source of policy without a broker. */
import { describe, expect, test } from 'bun:test';
import { parseSettings } from '../../../src/config/settings.ts';
import { AgentConfigSchema } from '../../../src/config/agent-config.ts';

const errors = (raw: Record<string, unknown>): string[] => {
  const r = parseSettings(AgentConfigSchema, { node: 'gw', ...raw });
  return r.ok ? [] : r.errors;
};
const airGapped = { bundleDir: '/media/outpost', trustKey: '/k.pub' };

describe('agent config: bundleDir without a broker', () => {
  test('trustKey + bundleDir alone is a valid agent; with probes, degradedPolicy and maxSnapshotAge too', () => {
    expect(errors(airGapped)).toEqual([]);
    expect(errors({ ...airGapped, probes: ['icmp:198.18.1.1'], degradedPolicy: ['/etc/outpost/degraded'], maxSnapshotAge: '30d', confirmWindowMs: '5000' })).toEqual([]);
    // With a broker, as before.
    expect(errors({ ...airGapped, broker: 'mqtt://198.18.4.2:1883' })).toEqual([]);
  });

  test('unsigned bundles are never applied: bundleDir needs trustKey', () => {
    expect(errors({ bundleDir: '/media/outpost' }).join()).toContain('trustKey: the relay\'s public key is required with bundleDir');
  });

  test('trustKey alone is no source of policy', () => {
    expect(errors({ trustKey: '/k.pub' }).join()).toContain('a source of policy is required');
  });

  test('resources together with bundleDir (with or without a broker) is refused', () => {
    expect(errors({ ...airGapped, resources: ['/x'] }).join()).toContain('bundleDir (signed bundles) or resources');
    expect(errors({ ...airGapped, resources: ['/x'], broker: 'mqtt://h:1' }).join()).toContain('not both');
  });

  test('settings that only make sense with a broker are refused instead of silently unused', () => {
    const tls = { brokerCa: '/ca.crt', brokerCert: '/n.crt', brokerKey: '/n.key' };
    expect(errors({ ...airGapped, ...tls }).join()).toContain('brokerCa/brokerCert/brokerKey: only with a broker');
    expect(errors({ ...airGapped, resolvers: ['198.18.0.53'] }).join()).toContain('resolvers: only with a broker');
    expect(errors({ ...airGapped, broker: 'mqtts://h:8883', ...tls })).toEqual([]);
  });

  test('degradedPolicy still needs a signed source', () => {
    expect(errors({ resources: ['/x'], degradedPolicy: ['/d'] }).join()).toContain('degradedPolicy: only in relay mode');
  });
});
