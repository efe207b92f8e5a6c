// prom.ts loads four of prom-client's modules directly (not its index, which costs start-up
// time): this fails if a prom-client upgrade moves or renames them.
import { expect, test } from 'bun:test';
import * as index from 'prom-client';
import { loadProm } from '../../../src/observe/prom.ts';

test('the modules loaded directly are the classes the package exports', async () => {
  const p = await loadProm();
  expect(p.Registry).toBe(index.Registry);
  expect(p.Counter).toBe(index.Counter);
  expect(p.Gauge).toBe(index.Gauge);
  expect(p.Histogram).toBe(index.Histogram);
  // Metrics built from them register only where told, never in the package's global registry.
  const r = new p.Registry();
  new p.Counter({ name: 'outpost_test_total', help: 'h', registers: [r] }).inc();
  expect(await r.metrics()).toContain('outpost_test_total 1');
  expect(await index.register.metrics()).not.toContain('outpost_test_total');
});
