import { describe, expect, test } from 'bun:test';
import { parseSettings } from '../../../src/config/settings.ts';
import { RelayConfigSchema } from '../../../src/config/relay-config.ts';
import { AgentConfigSchema } from '../../../src/config/agent-config.ts';

const tls = { brokerCa: '/ca.crt', brokerCert: '/r.crt', brokerKey: '/r.key' };
const relay = (raw: Record<string, unknown>) => parseSettings(RelayConfigSchema, { signingKey: '/k', resources: ['/p'], ...raw });
const agent = (raw: Record<string, unknown>) => parseSettings(AgentConfigSchema, { node: 'gw', trustKey: ['/k.pub'], ...raw });
const errors = (r: ReturnType<typeof relay> | ReturnType<typeof agent>) => (r.ok ? '' : r.errors.join('\n'));

describe('embedded broker: mTLS unless explicitly insecure', () => {
  test('listen without TLS files or insecure is refused, naming both ways out', () => {
    const r = relay({ listen: '198.18.4.2:8883' });
    expect(r.ok).toBe(false);
    expect(errors(r)).toContain('requires client certificates');
    expect(errors(r)).toContain('insecure');
  });
  test('listen with the TLS files, or with insecure, is accepted', () => {
    expect(relay({ listen: '198.18.4.2:8883', ...tls }).ok).toBe(true);
    expect(relay({ listen: '198.18.4.2:1883', insecure: true }).ok).toBe(true);
    expect(relay({ listen: '198.18.4.2:1883', insecure: 'true' }).ok).toBe(false);
  });
  test('insecure with TLS files, or with an external broker, is a contradiction', () => {
    expect(errors(relay({ listen: '198.18.4.2:8883', insecure: true, ...tls }))).toContain('choose one');
    expect(errors(relay({ broker: 'mqtt://198.18.4.2:1883', insecure: true }))).toContain('listen');
  });
  test('listenCert and listenKey go together, and only with an mTLS embedded broker', () => {
    expect(errors(relay({ listen: '198.18.4.2:8883', ...tls, listenCert: '/b.crt' }))).toContain('go together');
    expect(relay({ listen: '198.18.4.2:8883', ...tls, listenCert: '/b.crt', listenKey: '/b.key' }).ok).toBe(true);
    expect(errors(relay({ broker: 'mqtts://h:8883', ...tls, listenCert: '/b.crt', listenKey: '/b.key' }))).toContain('only with listen');
  });
});

describe('client TLS files (agent and relay)', () => {
  test('all three or none', () => {
    expect(errors(agent({ broker: 'mqtts://198.18.4.2:8883', brokerCert: '/gw.crt', brokerKey: '/gw.key' }))).toContain('go together');
    expect(agent({ broker: 'mqtts://198.18.4.2:8883', brokerCa: '/ca.crt', brokerCert: '/gw.crt', brokerKey: '/gw.key' }).ok).toBe(true);
  });
  test('certificates with a plain mqtt:// URL are refused (they would be sent nowhere, or in the clear)', () => {
    expect(errors(agent({ broker: 'mqtt://198.18.4.2:1883', ...tls }))).toContain('mqtts://');
    expect(errors(relay({ broker: 'mqtt://198.18.4.2:1883', ...tls }))).toContain('mqtts://');
    expect(relay({ broker: 'mqtts://198.18.4.2:8883', ...tls }).ok).toBe(true);
  });
});
