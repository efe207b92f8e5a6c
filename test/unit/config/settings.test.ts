import { describe, expect, test } from 'bun:test';
import { mergeSettings, parseSettings, resolvePaths, settingsMarkdown } from '../../../src/config/settings.ts';
import { AGENT_SETTINGS, AgentConfigSchema } from '../../../src/config/agent-config.ts';
import { RELAY_SETTINGS, RelayConfigSchema } from '../../../src/config/relay-config.ts';
import { withLocalFailsafes } from '../../../src/calc/failsafes.ts';
import { backoffDelay } from '../../../src/mqtt/client.ts';

describe('settings', () => {
  test('flags beat env beat file beat defaults', () => {
    const m = mergeSettings(AGENT_SETTINGS, { node: 'file', state: '/file' , logLevel: 'warn' }, { OUTPOST_NODE: 'env', OUTPOST_STATE: '/env' }, { node: 'flag' }, { node: 'default', nft: 'nft' });
    expect(m).toMatchObject({ node: 'flag', state: '/env', logLevel: 'warn', nft: 'nft' });
  });

  test('path settings become absolute; a bare command name stays for PATH lookup', () => {
    const r = resolvePaths(AGENT_SETTINGS, { state: 'st', trustKey: '../k.pub', resources: ['a', '/abs'], nft: 'nft', node: 'rel' }, '/srv/x');
    expect(r).toEqual({ state: '/srv/x/st', trustKey: '/srv/k.pub', resources: ['/srv/x/a', '/abs'], nft: 'nft', node: 'rel' });
    expect(resolvePaths(AGENT_SETTINGS, { nft: './bin/nft' }, '/opt')).toEqual({ nft: '/opt/bin/nft' });
    expect(resolvePaths(RELAY_SETTINGS, { signingKey: 'relay.key', resources: ['p'] }, '/etc/outpost')).toEqual({ signingKey: '/etc/outpost/relay.key', resources: ['/etc/outpost/p'] });
  });

  test('list settings: comma-separated env, single string in the file', () => {
    expect(mergeSettings(RELAY_SETTINGS, {}, { OUTPOST_ETCD_ENDPOINTS: 'http://a:2379, http://b:2379' }, {}).etcd).toEqual(['http://a:2379', 'http://b:2379']);
    expect(mergeSettings(RELAY_SETTINGS, { etcd: 'http://a:2379' }, {}, {}).etcd).toEqual(['http://a:2379']);
  });

  test('every setting has a distinct key, env variable and flag', () => {
    for (const table of [AGENT_SETTINGS, RELAY_SETTINGS]) {
      for (const field of ['key', 'env', 'flag'] as const) expect(new Set(table.map((s) => s[field])).size).toBe(table.length);
      expect(table.every((s) => s.env.startsWith('OUTPOST_') && s.flag.startsWith('--'))).toBe(true);
    }
    expect(settingsMarkdown(AGENT_SETTINGS)).toContain('`OUTPOST_TRUST_KEY`');
  });

  test('agent: exactly one source of policy, and a trust key with a broker', () => {
    const base = { node: 'gw' };
    const err = (raw: Record<string, unknown>) => {
      const r = parseSettings(AgentConfigSchema, raw);
      return r.ok ? [] : r.errors;
    };
    expect(err({ ...base, resources: ['/x'] })).toEqual([]);
    expect(err({ ...base, broker: 'mqtt://198.18.4.2:1883', trustKey: '/k.pub' })).toEqual([]);
    expect(err({ ...base }).join()).toContain('a source of policy is required');
    expect(err({ ...base, resources: ['/x'], broker: 'mqtt://h:1' , trustKey: '/k' }).join()).toContain('not both');
    expect(err({ ...base, broker: 'mqtt://h:1' }).join()).toContain('trustKey');
    expect(err({ ...base, broker: 'http://h:1', trustKey: '/k' }).join()).toContain('broker: "http://h:1" must be a broker URL');
    expect(err({ ...base, resources: ['/x'], brokr: 'typo' }).join()).toContain('brokr');
  });

  test('relay: exactly one datastore and one broker choice', () => {
    const ok = (raw: Record<string, unknown>) => parseSettings(RelayConfigSchema, { signingKey: '/k', ...raw });
    expect(ok({ etcd: ['http://127.0.0.1:2379'], broker: 'mqtt://127.0.0.1:1883' }).ok).toBe(true);
    expect(ok({ resources: ['/p'], listen: '127.0.0.1:1883', insecure: true }).ok).toBe(true);
    expect(ok({ resources: ['/p'], etcd: ['http://x:1'], listen: '127.0.0.1:1883' }).ok).toBe(false);
    expect(ok({ resources: ['/p'] }).ok).toBe(false);
    const bad = ok({ resources: ['/p'], listen: '127.0.0.1:99999' });
    expect(bad.ok ? '' : bad.errors.join()).toContain('listen: port must be at most 65535');
    const c = ok({ resources: ['/p'], listen: '[::1]:1883', insecure: true, coalesceMs: '50' });
    expect(c.ok && c.config.coalesceMs).toBe(50);
  });
});

describe('local failsafes over a relay plan', () => {
  const plan = { inbound: [{ protocol: 'tcp' as const, port: 22 }], outbound: [{ protocol: 'udp' as const, port: 53 }] };
  const broker = [{ protocol: 'tcp' as const, port: 1883, net: '198.18.4.2/32' }];

  test('the plan\'s failsafes stand unless local config replaces them; the broker path is always added', () => {
    expect(withLocalFailsafes(plan, {}, { outbound: broker })).toEqual({ inbound: plan.inbound, outbound: [...plan.outbound, ...broker] });
    expect(withLocalFailsafes(plan, { outbound: [] }, { outbound: broker }).outbound).toEqual(broker);
    expect(withLocalFailsafes(plan, { inbound: [{ protocol: 'tcp', port: 2222 }] }).inbound).toEqual([{ protocol: 'tcp', port: 2222 }]);
  });

  test('no duplicate when the broker path is already a failsafe', () => {
    expect(withLocalFailsafes({ inbound: [], outbound: broker }, {}, { outbound: broker }).outbound).toEqual(broker);
  });
});

describe('reconnect backoff', () => {
  const b = { initialMs: 500, maxMs: 30_000 };
  test('grows with attempts, is capped, and is jittered', () => {
    expect(backoffDelay(0, b, () => 0)).toBe(250);
    expect(backoffDelay(0, b, () => 1)).toBe(500);
    expect(backoffDelay(3, b, () => 1)).toBe(4000);
    expect(backoffDelay(50, b, () => 1)).toBe(30_000);
    expect(backoffDelay(50, b, () => 0.5)).toBeLessThan(30_000);
  });
});
