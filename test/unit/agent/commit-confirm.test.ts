/** The confirm-window state machine, with a clock the test drives (no waiting, no timing). */
import { expect, test } from 'bun:test';
import { brokenProbes, CommitConfirm, type Break, type Clock } from '../../../src/agent/commit-confirm.ts';
import { parseProbe, type Probe } from '../../../src/agent/probes.ts';

class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  /** Advances one timer at a time and lets the async probe checks settle. */
  async advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    this.t = end;
  }
}

const probe = (name: string, state: { ok: boolean }): Probe => ({ name, check: async () => state.ok });

function setup(probes: Probe[], windowMs = 10_000) {
  const clock = new FakeClock();
  const cc = new CommitConfirm<string>(() => probes, { windowMs, intervalMs: 1000, clock });
  const breaks: Break<string>[] = [];
  const confirmed: string[] = [];
  return { clock, cc, breaks, confirmed, on: [(b: Break<string>) => breaks.push(b), (r: string) => confirmed.push(r)] as const };
}

test('a probe that passed before and fails within the window breaks it, restoring what was in force', async () => {
  const broker = { ok: true };
  const s = setup([probe('broker', broker)]);
  const prepared = await s.cc.prepare('r1');
  s.cc.start('r2', prepared, ...s.on);
  broker.ok = false;
  await s.clock.advance(3000);
  expect(s.breaks).toEqual([{ revision: 'r2', restoreTo: 'r1', failed: ['broker'] }]);
  expect(s.cc.watching).toBeUndefined();
});

test('one failed check is not a verdict; a probe that recovers does not break the window', async () => {
  const p = { ok: true };
  const s = setup([probe('tcp:198.18.3.2:53', p)]);
  s.cc.start('r2', await s.cc.prepare('r1'), ...s.on);
  await s.clock.advance(1000);
  p.ok = false;
  await s.clock.advance(1000);
  p.ok = true;
  await s.clock.advance(20_000);
  expect(s.breaks).toEqual([]);
  expect(s.confirmed).toEqual(['r2']);
});

test('a probe that was already failing before the apply never breaks the window', async () => {
  const dead = { ok: false };
  const alive = { ok: true };
  const s = setup([probe('icmp:198.18.9.9', dead), probe('broker', alive)]);
  const prepared = await s.cc.prepare('r1');
  expect(prepared.baseline).toEqual({ 'icmp:198.18.9.9': false, broker: true });
  s.cc.start('r2', prepared, ...s.on);
  await s.clock.advance(20_000);
  expect(s.breaks).toEqual([]);
  expect(s.confirmed).toEqual(['r2']);
});

test('a failure after the window is not a break', async () => {
  const p = { ok: true };
  const s = setup([probe('broker', p)], 5000);
  s.cc.start('r2', await s.cc.prepare('r1'), ...s.on);
  await s.clock.advance(6000);
  p.ok = false;
  await s.clock.advance(10_000);
  expect(s.confirmed).toEqual(['r2']);
  expect(s.breaks).toEqual([]);
});

test('a revision applied during an open window restores to the last confirmed one, with the first baseline', async () => {
  const p = { ok: true };
  const s = setup([probe('broker', p)]);
  s.cc.start('r2', await s.cc.prepare('r1'), ...s.on);
  p.ok = false; // r2 broke it; before its window closes, r3 arrives
  const again = await s.cc.prepare('r2');
  expect(again).toEqual({ baseline: { broker: true }, restoreTo: 'r1' });
  s.cc.start('r3', again, ...s.on);
  await s.clock.advance(3000);
  expect(s.breaks).toEqual([{ revision: 'r3', restoreTo: 'r1', failed: ['broker'] }]);
});

test('a zero window confirms at once and watches nothing', async () => {
  const p = { ok: true };
  const s = setup([probe('broker', p)], 0);
  s.cc.start('r2', await s.cc.prepare('r1'), ...s.on);
  p.ok = false;
  await s.clock.advance(10_000);
  expect(s.confirmed).toEqual(['r2']);
  expect(s.breaks).toEqual([]);
});

test('brokenProbes only names probes that went from pass to fail', () => {
  expect(brokenProbes({ a: true, b: false, c: true }, { a: false, b: false, c: true })).toEqual(['a']);
});

test('probe specs: tcp and icmp, IPv4 and IPv6; anything else is refused with a reason', () => {
  expect(parseProbe('tcp:198.18.3.2:53')).toEqual({ kind: 'tcp', addr: '198.18.3.2', port: 53 });
  expect(parseProbe('tcp:[fd00:3::2]:22')).toEqual({ kind: 'tcp', addr: 'fd00:3::2', port: 22 });
  expect(parseProbe('icmp:fd00:3::2')).toEqual({ kind: 'icmp', addr: 'fd00:3::2' });
  for (const bad of ['tcp:198.18.3.2', 'tcp:host.example:53', 'tcp:198.18.3.2:0', 'tcp:198.18.3.2:70000', 'icmp:gw', 'udp:1.2.3.4:53', 'tcp:fd00::1:53', '']) {
    expect(typeof parseProbe(bad)).toBe('string');
  }
});

test('settings: probes are checked when the config is read (at most 16), the window is milliseconds, default 60 s', async () => {
  const { parseSettings } = await import('../../../src/config/settings.ts');
  const { AgentConfigSchema } = await import('../../../src/config/agent-config.ts');
  const base = { node: 'gw', resources: ['/x'] };
  const r = parseSettings(AgentConfigSchema, base);
  expect(r.ok && [r.config.confirmWindowMs, r.config.probes]).toEqual([60_000, []]);
  const s = parseSettings(AgentConfigSchema, { ...base, confirmWindowMs: '5000', probes: ['tcp:198.18.3.2:53', 'icmp:fd00:3::2'] });
  expect(s.ok && [s.config.confirmWindowMs, s.config.probes]).toEqual([5000, ['tcp:198.18.3.2:53', 'icmp:fd00:3::2']]);
  const bad = (raw: Record<string, unknown>) => {
    const x = parseSettings(AgentConfigSchema, { ...base, ...raw });
    return x.ok ? [] : x.errors;
  };
  expect(bad({ probes: ['icmp:gateway.lan'] })[0]).toContain('not an IP address');
  expect(bad({ probes: Array.from({ length: 17 }, () => 'icmp:198.18.3.2') })).toEqual(['probes: at most 16 probes']);
  expect(bad({ confirmWindowMs: '-1' })).toHaveLength(1);
  expect(bad({ confirmWindowMs: '60s' })).toHaveLength(1);
});
