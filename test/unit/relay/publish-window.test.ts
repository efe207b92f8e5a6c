import { describe, expect, test } from 'bun:test';
import { PublishWindow } from '../../../src/relay/publish-window.ts';

describe('publish window', () => {
  test('never more than the limit outstanding, all tasks run, a failing task frees its place', async () => {
    const w = new PublishWindow(4);
    let outstanding = 0;
    let peak = 0;
    let done = 0;
    const task = (fail: boolean) => async () => {
      outstanding++;
      peak = Math.max(peak, outstanding);
      await Bun.sleep(1 + Math.floor(Math.random() * 3));
      outstanding--;
      done++;
      if (fail) throw new Error('publish failed');
    };
    for (let i = 0; i < 50; i++) await w.submit(task(i % 7 === 0));
    await w.drain();
    expect(done).toBe(50);
    expect(peak).toBe(4);
    expect(w.outstanding).toBe(0);
  });

  test('submit returns once the task started, without waiting for it', async () => {
    const w = new PublishWindow(2);
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    await w.submit(() => blocked);
    await w.submit(() => blocked);
    expect(w.outstanding).toBe(2);
    let third = false;
    const p = w.submit(async () => void (third = true));
    await Bun.sleep(5);
    expect(third).toBeFalse();
    release();
    await p;
    await w.drain();
    expect(third).toBeTrue();
  });
});
