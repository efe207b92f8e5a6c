/** The auto host endpoint settings as the agent's and the relay's configuration read them. */
import { describe, expect, test } from 'bun:test';
import { parseSettings, mergeSettings } from '../../../src/config/settings.ts';
import { AGENT_SETTINGS, AgentConfigSchema } from '../../../src/config/agent-config.ts';
import { RELAY_SETTINGS, RelayConfigSchema } from '../../../src/config/relay-config.ts';

const agent = (raw: Record<string, unknown>) => parseSettings(AgentConfigSchema, { node: 'gw', trustKey: ['/k.pub'], broker: 'mqtt://198.18.0.1:1883', ...raw });
const relay = (raw: Record<string, unknown>) => parseSettings(RelayConfigSchema, { signingKey: '/k', broker: 'mqtt://127.0.0.1:1883', ...raw });
const errors = (r: ReturnType<typeof agent> | ReturnType<typeof relay>) => (r.ok ? [] : r.errors);

describe('agent: autoHostEndpoint', () => {
  test('off by default; on with labels from a YAML map or key=value items, and exclusions', () => {
    const off = agent({});
    expect(off.ok && off.config.autoHostEndpoint).toBe(false);
    const map = agent({ autoHostEndpoint: true, autoHostEndpointLabels: { site: 'north', rack: 12 }, autoHostEndpointExclude: ['198.18.9.0/24'] });
    expect(map.ok && map.config).toMatchObject({ autoHostEndpoint: true, autoHostEndpointLabels: { site: 'north', rack: '12' }, autoHostEndpointExclude: ['198.18.9.0/24'] });
    const list = agent({ autoHostEndpoint: true, autoHostEndpointLabels: ['site=north', 'role=edge'] });
    expect(list.ok && list.config.autoHostEndpointLabels).toEqual({ site: 'north', role: 'edge' });
  });

  test('from flags and the environment, as the agent command merges them', () => {
    const raw = mergeSettings(AGENT_SETTINGS, { node: 'gw', trustKey: '/k.pub', broker: 'mqtt://198.18.0.1:1883' }, { OUTPOST_AUTO_HOST_ENDPOINT: 'yes', OUTPOST_AUTO_HOST_ENDPOINT_LABELS: 'site=north, role=edge' }, {});
    const r = parseSettings(AgentConfigSchema, raw);
    expect(r.ok && r.config).toMatchObject({ autoHostEndpoint: true, autoHostEndpointLabels: { site: 'north', role: 'edge' } });
    for (const flag of ['--auto-host-endpoint', '--auto-host-endpoint-labels', '--auto-host-endpoint-exclude']) expect(AGENT_SETTINGS.some((s) => s.flag === flag)).toBe(true);
  });

  test('mistakes are plain sentences naming the setting', () => {
    expect(errors(agent({ autoHostEndpoint: true, autoHostEndpointLabels: ['site'] }))).toEqual([expect.stringMatching(/^autoHostEndpointLabels: "site" is not "key=value"/)]);
    expect(errors(agent({ autoHostEndpoint: true, autoHostEndpointLabels: ['projectcalico.org/created-by=me'] }))).toEqual([expect.stringMatching(/^autoHostEndpointLabels: .*is reserved/)]);
    expect(errors(agent({ autoHostEndpoint: true, autoHostEndpointExclude: ['vpn'] }))).toEqual([expect.stringMatching(/^autoHostEndpointExclude: "vpn" is not a CIDR/)]);
    expect(errors(agent({ autoHostEndpoint: 'maybe' })).join()).toMatch(/^autoHostEndpoint: /);
  });

  test('refused where it cannot work: without a broker, and labels or exclusions without autoHostEndpoint', () => {
    const local = parseSettings(AgentConfigSchema, { node: 'gw', resources: ['/r'], autoHostEndpoint: true });
    expect(errors(local)).toContain('autoHostEndpoint: only with a broker (the interfaces report goes to the relay over MQTT)');
    expect(errors(agent({ autoHostEndpointLabels: ['a=b'] }))).toEqual([expect.stringMatching(/^autoHostEndpointLabels: only with autoHostEndpoint: true/)]);
    expect(errors(agent({ autoHostEndpointExclude: ['198.18.0.0/16'] }))).toEqual([expect.stringMatching(/^autoHostEndpointExclude: only with autoHostEndpoint: true/)]);
  });
});

describe('relay: autoHostEndpoints', () => {
  test('off by default; on with etcd', () => {
    const off = relay({ etcd: ['http://127.0.0.1:2379'] });
    expect(off.ok && off.config.autoHostEndpoints).toBe(false);
    const on = relay({ etcd: ['http://127.0.0.1:2379'], autoHostEndpoints: true });
    expect(on.ok && on.config.autoHostEndpoints).toBe(true);
    expect(RELAY_SETTINGS.find((s) => s.key === 'autoHostEndpoints')?.flag).toBe('--auto-host-endpoints');
  });

  test('refused with the folder datastore, in a plain sentence', () => {
    expect(errors(relay({ resources: ['/r'], autoHostEndpoints: true }))).toEqual([expect.stringMatching(/^autoHostEndpoints: only with the etcd datastore \(etcd or calicoctlConfig\); the relay never writes into a folder of manifests/)]);
  });
});
