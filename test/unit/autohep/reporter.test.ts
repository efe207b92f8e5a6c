/** The agent's reporter: what it publishes, when, and that it never clears the report itself. */
import { describe, expect, test } from 'bun:test';
import pino from 'pino';
import { startInterfaceReporter } from '../../../src/autohep/reporter.ts';
import { decodeReport } from '../../../src/autohep/report-schema.ts';
import type { HostInterface } from '../../../src/calc/dispatch.ts';
import type { MqttLink } from '../../../src/mqtt/client.ts';

class TestLink implements MqttLink {
  connected = false;
  published: { topic: string; payload: string; retain: boolean; qos: number }[] = [];
  #connect: ((sp: boolean) => void)[] = [];
  onConnect(cb: (sp: boolean) => void): void {
    this.#connect.push(cb);
  }
  onState(): void {}
  onMessage(): void {}
  async publish(topic: string, payload: Uint8Array | string, o: { retain: boolean; qos: 0 | 1 }): Promise<void> {
    this.published.push({ topic, payload: String(payload), retain: o.retain, qos: o.qos });
  }
  async subscribe(): Promise<void> {}
  async close(): Promise<void> {}
  connect(): void {
    this.connected = true;
    for (const cb of this.#connect) cb(false);
  }
}

const settle = () => Bun.sleep(20);

describe('interface reporter', () => {
  test('publishes retained at QoS 1 on connect, again on every reconnect, otherwise only when the content changes', async () => {
    const link = new TestLink();
    let host: HostInterface[] = [{ name: 'lo', addresses: ['127.0.0.1'] }, { name: 'eth0', addresses: ['198.18.0.2', 'fe80::1'] }];
    const r = startInterfaceReporter({ link, topicPrefix: 'outpost/v1', node: 'gw', labels: { site: 'north' }, exclude: ['198.18.9.0/24'], log: pino({ level: 'silent' }), read: () => host, intervalMs: 3_600_000 });
    try {
      r.refresh();
      await settle();
      expect(link.published).toEqual([]); // not connected yet
      link.connect();
      await settle();
      expect(link.published.length).toBe(1);
      const first = link.published[0]!;
      expect(first).toMatchObject({ topic: 'outpost/v1/nodes/gw/interfaces', retain: true, qos: 1 });
      const d = decodeReport(new TextEncoder().encode(first.payload));
      expect(d).toEqual({ ok: true, report: { version: 1, node: 'gw', interfaces: [{ name: 'eth0', addresses: ['198.18.0.2'] }], labels: { site: 'north' } } });

      r.refresh();
      await settle();
      expect(link.published.length).toBe(1); // unchanged: nothing sent

      host = [...host, { name: 'wg0', addresses: ['198.18.9.1'] }]; // excluded: no change
      r.refresh();
      await settle();
      expect(link.published.length).toBe(1);

      host = [{ name: 'eth0', addresses: ['198.18.0.3'] }];
      r.refresh();
      await settle();
      expect(link.published.length).toBe(2);
      expect(link.published[1]!.payload).toContain('198.18.0.3');

      link.connect(); // a reconnect: the broker may have lost it
      await settle();
      expect(link.published.length).toBe(3);
      expect(link.published[2]!.payload).toBe(link.published[1]!.payload);

      // Every message is a report: never an empty (clearing) payload.
      expect(link.published.every((p) => p.payload.length > 0)).toBe(true);
    } finally {
      r.stop();
    }
    host = [{ name: 'eth0', addresses: ['198.18.0.4'] }];
    r.refresh();
    link.connect();
    await settle();
    expect(link.published.length).toBe(3); // stopped: nothing more, and no clear either
  });

  test('a failing interface read or publish is logged, never thrown', async () => {
    const lines: string[] = [];
    const link = new TestLink();
    link.publish = async () => {
      throw new Error('broker gone');
    };
    let fail = true;
    const r = startInterfaceReporter({ link, topicPrefix: 'outpost/v1', node: 'gw', labels: {}, log: pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) }), read: () => {
      if (fail) throw new Error('getifaddrs failed');
      return [{ name: 'eth0', addresses: ['198.18.0.2'] }];
    }, intervalMs: 3_600_000 });
    link.connect();
    await settle();
    fail = false;
    r.refresh();
    await settle();
    r.stop();
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['cannot read the host\'s interfaces; the last report stays', 'cannot publish the interfaces report']);
  });

  test('a bad exclude list is refused at start', () => {
    expect(() => startInterfaceReporter({ link: new TestLink(), topicPrefix: 'outpost/v1', node: 'gw', labels: {}, exclude: ['nope'], log: pino({ level: 'silent' }) })).toThrow('autoHostEndpointExclude: "nope" is not a CIDR');
  });
});
