/** The relay's held-back list: logged once per change, published retained (capped), counted, retried. */
import { expect, test } from 'bun:test';
import pino from 'pino';
import * as v from 'valibot';
import { HeldBackPublisher, heldBackMessage } from '../../../src/relay/held-back-publisher.ts';
import { HeldBackSchema, MAX_HELD_BACK_ITEMS, type HeldBackItem } from '../../../src/protocol/held-back.ts';

const item = (name: string, reason = 'spec.x: bad'): HeldBackItem => ({ kind: 'GlobalNetworkPolicy', name, source: `/calico/x/${name}`, reason, lastValidInForce: false });

function rig(up = true) {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'debug', base: null }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const sent: { topic: string; body: unknown }[] = [];
  const counts: number[] = [];
  const state = { up };
  const p = new HeldBackPublisher('pfx', async (topic, payload) => {
    if (!state.up) return false;
    sent.push({ topic, body: JSON.parse(new TextDecoder().decode(payload)) });
    return true;
  }, log, (c) => counts.push(c));
  return { p, lines, sent, counts, state };
}

test('each change is logged once (error when held back, info when cleared) and published', async () => {
  const { p, lines, sent, counts } = rig();
  p.update([]);
  p.update([item('a')]);
  p.update([item('a')]);
  p.update([item('a', 'other reason'), item('b')]);
  p.update([item('b')]);
  await Bun.sleep(0);
  expect(lines.filter((l) => l.level === 50).map((l) => l.msg.slice(0, 45))).toEqual([
    "held back as invalid: GlobalNetworkPolicy 'a'",
    "held back as invalid: GlobalNetworkPolicy 'a'",
    "held back as invalid: GlobalNetworkPolicy 'b'",
  ]);
  expect(lines.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(["no longer held back: GlobalNetworkPolicy 'a' (/calico/x/a) is valid again or gone"]);
  expect(counts).toEqual([0, 1, 2, 1]);
  expect(sent.map((s) => s.topic)).toEqual(Array(4).fill('pfx/relay/held-back'));
  for (const s of sent) expect(v.is(HeldBackSchema, s.body)).toBe(true);
  expect(sent.at(-1)!.body).toMatchObject({ count: 1, items: [{ name: 'b' }] });
});

test('over the cap: the first items that fit and the total count; the message validates and stays under 16 KiB', async () => {
  const { p, sent } = rig();
  p.update(Array.from({ length: MAX_HELD_BACK_ITEMS + 50 }, (_, i) => item(`p${String(i).padStart(4, '0')}`)));
  await Bun.sleep(0);
  const body = sent[0]!.body as { count: number; items: { name: string }[] };
  expect(body.count).toBe(MAX_HELD_BACK_ITEMS + 50);
  expect(body.items.length).toBeGreaterThan(10);
  expect(body.items.length).toBeLessThanOrEqual(MAX_HELD_BACK_ITEMS);
  expect(body.items[0]!.name).toBe('p0000');
  expect(v.is(HeldBackSchema, body)).toBe(true);
  // Hostile sizes: every field at its longest.
  const huge = Array.from({ length: MAX_HELD_BACK_ITEMS + 1 }, (_, i) => ({ kind: 'K'.repeat(100), name: `${i}`.padEnd(300, 'n'), source: 's'.repeat(1000), reason: 'r'.repeat(1000), lastValidInForce: true }));
  const msg = heldBackMessage(huge, new Date());
  expect(Buffer.byteLength(JSON.stringify(msg))).toBeLessThan(16 * 1024);
  expect(msg.count).toBe(MAX_HELD_BACK_ITEMS + 1);
  expect(msg.items.length).toBeGreaterThan(0);
});

test('a list that could not be published goes out on the next flush (reconnect)', async () => {
  const { p, sent, state } = rig(false);
  p.update([item('a')]);
  await Bun.sleep(0);
  expect(sent).toEqual([]);
  state.up = true;
  await p.flush();
  expect(sent).toHaveLength(1);
  await p.flush();
  expect(sent).toHaveLength(1);
  await p.flush(true);
  expect(sent).toHaveLength(2);
});

test('an item longer than the schema allows (an etcd key or a name far over 253 characters: why it is held back) is clipped, so every reader can still read the list', () => {
  const long = 'x'.repeat(1500);
  const m = heldBackMessage([{ kind: 'K'.repeat(500), name: long, source: `/calico/resources/v3/projectcalico.org/globalnetworkpolicies/${long}`, reason: long, lastValidInForce: false }], new Date(0));
  const r = v.safeParse(HeldBackSchema, JSON.parse(JSON.stringify(m)));
  expect(r.success).toBe(true);
  expect(m.count).toBe(1);
  expect(m.items.length).toBe(1);
  expect(m.items[0]!.name.startsWith('xxx')).toBe(true);
});
