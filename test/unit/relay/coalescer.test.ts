import { describe, expect, test } from 'bun:test';
import { Coalescer } from '../../../src/relay/coalescer.ts';

describe('coalescer', () => {
  test('a burst of triggers runs once', async () => {
    let runs = 0;
    const c = new Coalescer(async () => void runs++, 20, 1000);
    for (let i = 0; i < 10; i++) c.trigger();
    await Bun.sleep(60);
    await c.idle();
    expect(runs).toBe(1);
    c.stop();
  });

  test('a steady trickle still runs by the max wait', async () => {
    let runs = 0;
    const c = new Coalescer(async () => void runs++, 30, 60);
    for (let i = 0; i < 12; i++) {
      c.trigger();
      await Bun.sleep(10);
    }
    expect(runs).toBeGreaterThanOrEqual(1);
    c.stop();
  });

  test('a trigger during a run causes exactly one more run, never two at once', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const c = new Coalescer(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      await Bun.sleep(30);
      active--;
    }, 1, 5);
    c.trigger();
    await Bun.sleep(10);
    c.trigger();
    c.trigger();
    await Bun.sleep(100);
    await c.idle();
    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
    c.stop();
  });
});
