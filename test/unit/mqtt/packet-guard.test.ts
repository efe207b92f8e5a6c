import { describe, expect, test } from 'bun:test';
import mqttPacket from 'mqtt-packet';
import { PacketFilter } from '../../../src/mqtt/packet-guard.ts';

const gen = (p: object): Uint8Array => new Uint8Array(mqttPacket.generate(p as never));
const publish = (topic: string, size: number, qos: 0 | 1 = 1, messageId = 7) =>
  gen({ cmd: 'publish', topic, payload: Buffer.alloc(size, 0x61), qos, messageId, retain: true, dup: false });
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};

/** Feeds `bytes` in chunks of `size` and gathers everything the filter passed, reported and replied. */
function run(bytes: Uint8Array, max: number, size: number) {
  const f = new PacketFilter(max);
  const out: Uint8Array[] = [];
  const oversized: unknown[] = [];
  const replies: Uint8Array[] = [];
  let fatal: string | undefined;
  for (let i = 0; i < bytes.length && fatal === undefined; i += size) {
    const s = f.push(bytes.subarray(i, i + size));
    out.push(...s.out);
    oversized.push(...s.oversized);
    replies.push(...s.replies);
    fatal = s.fatal;
  }
  return { passed: concat(out), oversized, replies, fatal };
}

describe('PacketFilter', () => {
  const small1 = publish('outpost/v1/nodes/gw/snapshot', 100);
  const small2 = gen({ cmd: 'pingresp' });
  const big = publish('outpost/v1/nodes/gw/snapshot', 300_000, 1, 0x1234);
  const small3 = publish('outpost/v1/nodes/gw/snapshot', 2000, 0);

  for (const size of [1, 3, 7, 4096, 1 << 20]) {
    test(`in chunks of ${size}: small packets pass byte for byte, the oversized publish is dropped and acknowledged`, () => {
      const r = run(concat([small1, small2, big, small3]), 64 * 1024, size);
      expect(r.fatal).toBeUndefined();
      expect(r.passed).toEqual(concat([small1, small2, small3]));
      expect(r.oversized).toEqual([{ bytes: big.length - 4, topic: 'outpost/v1/nodes/gw/snapshot', qos: 1 }]);
      expect(r.replies).toEqual([Uint8Array.from([0x40, 2, 0x12, 0x34])]);
    });
  }

  test('what passes parses as the same packets', () => {
    const r = run(concat([small1, big, small3]), 64 * 1024, 1000);
    const parser = mqttPacket.parser();
    const seen: string[] = [];
    parser.on('packet', (p) => seen.push(`${p.cmd}:${'payload' in p ? (p.payload as Buffer).length : 0}`));
    parser.parse(Buffer.from(r.passed));
    expect(seen).toEqual(['publish:100', 'publish:2000']);
  });

  test('a QoS 0 oversized publish is dropped without a reply', () => {
    const r = run(publish('t', 100_000, 0), 1000, 512);
    expect(r.oversized).toEqual([{ bytes: 100_000 + 3, topic: 't', qos: 0 }]);
    expect(r.replies).toEqual([]);
    expect(r.passed.length).toBe(0);
  });

  test('an oversized packet of another type closes the connection', () => {
    // A SUBACK claiming 2 MB.
    const r = run(Uint8Array.from([0x90, 0x80, 0x80, 0x80, 0x01, 0, 1, 0]), 1000, 8);
    expect(r.fatal).toContain('over the 1000-byte limit');
  });

  test('a remaining length of more than 4 bytes is malformed', () => {
    expect(run(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 1000, 1).fatal).toContain('malformed');
  });
});
