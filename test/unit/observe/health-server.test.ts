// A real HTTP server on loopback (port 0): the endpoints as a scraper and a probe see them.
import { afterEach, describe, expect, test } from 'bun:test';
import { ListenError, startHealthServer, type HealthServer } from '../../../src/observe/health-server.ts';
import { loadProm } from '../../../src/observe/prom.ts';
import { createAgentMetrics } from '../../../src/observe/agent-metrics.ts';
import { parseExposition, sampleValue } from './prom-text.ts';

const prom = await loadProm();
const logged: { level: string; obj: unknown; msg?: string }[] = [];
const log = { info: (obj: unknown, msg?: string) => void logged.push({ level: 'info', obj, ...(msg ? { msg } : {}) }), warn: (obj: unknown, msg?: string) => void logged.push({ level: 'warn', obj, ...(msg ? { msg } : {}) }) } as never;
const servers: HealthServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
  logged.length = 0;
});
const start = (o: Partial<Parameters<typeof startHealthServer>[0]> = {}) => {
  const m = createAgentMetrics(prom);
  const s = startHealthServer({ listen: '127.0.0.1:0', registry: m.registry, ready: () => m.ready(), log, ...o });
  servers.push(s);
  return { s, m };
};

describe('health and metrics endpoint', () => {
  test('/metrics is the Prometheus text format with its content type, and follows the observer', async () => {
    const { s, m } = start();
    let r = await fetch(`${s.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sampleValue(parseExposition(await r.text()), 'outpost_agent_applies_total', { result: 'ok' })).toBe(0);
    m.observer.applied!({ source: 'local', why: 'files', durationMs: 3, ok: true, at: new Date() });
    r = await fetch(`${s.url}/metrics`);
    expect(sampleValue(parseExposition(await r.text()), 'outpost_agent_applies_total', { result: 'ok' })).toBe(1);
    expect(logged[0]).toEqual({ level: 'info', obj: { listen: `127.0.0.1:${s.address.port}` }, msg: 'metrics and health endpoint listening (/metrics, /livez, /readyz)' });
  });

  test('/livez is 200; /readyz is 503 with the reason until ready, then 200', async () => {
    const { s, m } = start();
    expect([(await fetch(`${s.url}/livez`)).status, await (await fetch(`${s.url}/livez`)).text()]).toEqual([200, 'ok\n']);
    let r = await fetch(`${s.url}/readyz`);
    expect([r.status, await r.text()]).toEqual([503, 'not ready: no ruleset applied yet\n']);
    m.observer.applied!({ source: 'local', why: 'files', durationMs: 3, ok: true, at: new Date() });
    r = await fetch(`${s.url}/readyz`);
    expect([r.status, await r.text()]).toEqual([200, 'ready\n']);
  });

  test('a liveness check that says no is 503', async () => {
    const { s } = start({ live: () => false });
    expect((await fetch(`${s.url}/livez`)).status).toBe(503);
  });

  test('unknown paths are 404, other methods 405, odd requests do not break it', async () => {
    const { s } = start();
    for (const p of ['/', '/metrics/', '/metricsx', '/livez?x', '/../etc/passwd', `/${'a'.repeat(5000)}`]) {
      const r = await fetch(`${s.url}${p}`);
      expect([p.slice(0, 20), r.status]).toEqual([p.slice(0, 20), p === '/livez?x' ? 200 : 404]);
    }
    const post = await fetch(`${s.url}/metrics`, { method: 'POST', body: 'x'.repeat(10_000) });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await fetch(`${s.url}/metrics`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${s.url}/livez`)).status).toBe(200);
  });

  test('a failing collector is a 500 naming the cause, logged; the endpoint keeps serving', async () => {
    const m = createAgentMetrics(prom, { policyPackets: async () => { throw new Error('nft: cannot list the table'); } });
    const s = startHealthServer({ listen: '127.0.0.1:0', registry: m.registry, ready: () => m.ready(), log });
    servers.push(s);
    const r = await fetch(`${s.url}/metrics`);
    expect([r.status, await r.text()]).toEqual([500, 'collecting metrics failed: nft: cannot list the table\n']);
    expect(logged.some((l) => l.level === 'warn' && l.msg === 'collecting metrics failed')).toBe(true);
    expect((await fetch(`${s.url}/livez`)).status).toBe(200);
  });

  test('IPv6 loopback', async () => {
    const { s } = start({ listen: '[::1]:0' });
    expect(s.url).toBe(`http://[::1]:${s.address.port}`);
    expect((await fetch(`${s.url}/livez`)).status).toBe(200);
  });

  test('a port already in use is a clear error naming the address; so is an address the host does not have', () => {
    const { s } = start();
    const taken = `127.0.0.1:${s.address.port}`;
    expect(() => start({ listen: taken })).toThrow(new ListenError(`metricsListen: cannot listen on ${taken}: the address is already in use (another outpost, or another exporter on this port?)`));
    expect(() => start({ listen: `:${s.address.port}` })).toThrow(`cannot listen on :${s.address.port}: the address is already in use`);
    // TEST-NET-2 (RFC 5737): never assigned to this host.
    expect(() => start({ listen: '198.51.100.7:9469' })).toThrow('metricsListen: cannot listen on 198.51.100.7:9469: this host has no such address');
    expect(() => start({ listen: 'localhost:80' })).toThrow('metricsListen: "localhost:80": "localhost" is not an IPv4 address');
    expect(() => start({ listen: 'off' })).toThrow('metricsListen is off');
  });
});
