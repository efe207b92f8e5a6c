/**
 * The relay's auto host endpoint controller against a real etcd (Calico's layout, written by the
 * same store `outpost apply` uses). The MQTT side is an in-memory link that hands the controller
 * messages as the broker would; test/integration/auto-hep.test.ts runs the whole path for real.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import pino from 'pino';
import { startEtcd, type LabEtcd } from '../../lab/etcd.ts';
import { EtcdClient } from '../../../src/etcd/client.ts';
import { CalicoStore } from '../../../src/cli/resource-store.ts';
import { startAutoHepController, type AutoHepController } from '../../../src/autohep/controller.ts';
import { encodeReport, type InterfacesReport } from '../../../src/autohep/report-schema.ts';
import { CREATED_BY_LABEL } from '../../../src/autohep/hep-mapping.ts';
import type { MqttLink } from '../../../src/mqtt/client.ts';
import { validateResource } from '../../../src/model/validate.ts';
import type { Resource } from '../../../src/model/resource.ts';

const PREFIX = 'outpost/v1';
const topic = (node: string) => `${PREFIX}/nodes/${node}/interfaces`;

class TestLink implements MqttLink {
  connected = true;
  subscribed: string[] = [];
  #message: ((t: string, p: Uint8Array, r: boolean) => void | Promise<unknown>)[] = [];
  onConnect(): void {}
  onState(): void {}
  onMessage(cb: (t: string, p: Uint8Array, r: boolean) => void | Promise<unknown>): void {
    this.#message.push(cb);
  }
  async publish(): Promise<void> {}
  async subscribe(topics: readonly string[]): Promise<void> {
    this.subscribed.push(...topics);
  }
  async close(): Promise<void> {}
  deliver(t: string, payload: Uint8Array | string): void {
    const p = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    for (const cb of this.#message) void cb(t, p, true);
  }
}

const report = (node: string, addresses: string[], labels: Record<string, string> = { site: 'north' }): string =>
  encodeReport({ version: 1, node, interfaces: [{ name: 'eth0', addresses }], labels } satisfies InterfacesReport);

let etcd: LabEtcd;
let store: CalicoStore;
let link: TestLink;
let ctl: AutoHepController;
const lines: { msg: string; [k: string]: unknown }[] = [];

async function hep(name: string) {
  return store.get('HostEndpoint', name);
}
const spec = async (name: string) => (await hep(name))?.object['spec'] as Record<string, unknown> | undefined;
async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    await Bun.sleep(20);
  }
}

describe('auto host endpoint controller (real etcd)', () => {
  beforeAll(async () => {
    etcd = await startEtcd();
    store = new CalicoStore(new EtcdClient({ endpoints: [etcd.url], timeoutMs: 1000 }));
    link = new TestLink();
    const log = pino({ level: 'debug', base: null }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    ctl = startAutoHepController({ link, topicPrefix: PREFIX, store, log, minWriteIntervalMs: 300, retryMs: 200, resyncIntervalMs: 0 });
  });
  afterAll(async () => {
    await ctl?.stop();
    await etcd?.destroy();
  });

  test('subscribes to every node\'s interfaces topic', () => {
    expect(link.subscribed).toEqual([`${PREFIX}/nodes/+/interfaces`]);
  });

  test('a report writes <node>-auto-hep in Calico\'s shape; the same report again writes nothing', async () => {
    link.deliver(topic('n1'), report('n1', ['198.18.0.2', 'fd00::2']));
    await ctl.idle();
    const found = await hep('n1-auto-hep');
    expect(found?.object['spec']).toEqual({ node: 'n1', interfaceName: '*', expectedIPs: ['198.18.0.2', 'fd00::2'], profiles: ['projectcalico-default-allow'] });
    expect((found?.object['metadata'] as Record<string, unknown>)['labels']).toEqual({ site: 'north', [CREATED_BY_LABEL]: 'outpost-relay' });
    const revision = await etcd.revision();
    link.deliver(topic('n1'), report('n1', ['fd00::2', '198.18.0.2']));
    await ctl.idle();
    expect(await etcd.revision()).toBe(revision);
  });

  test('a changed address updates expectedIPs; a burst of changes is one write with the last one', async () => {
    link.deliver(topic('n1'), report('n1', ['198.18.0.3']));
    await ctl.idle();
    expect((await spec('n1-auto-hep'))?.['expectedIPs']).toEqual(['198.18.0.3']);
    const before = BigInt(await etcd.revision());
    for (let i = 10; i < 40; i++) link.deliver(topic('n1'), report('n1', [`198.18.0.${i}`]));
    await ctl.idle();
    expect((await spec('n1-auto-hep'))?.['expectedIPs']).toEqual(['198.18.0.39']);
    expect(BigInt(await etcd.revision()) - before).toBe(1n);
  });

  test('refused reports change nothing: wrong node, malformed, reserved label, no address', async () => {
    const revision = await etcd.revision();
    link.deliver(topic('n1'), report('n2', ['198.18.0.99']));
    link.deliver(topic('n1'), '{"version":1');
    link.deliver(topic('n1'), JSON.stringify({ version: 1, node: 'n1', interfaces: [{ name: 'eth0', addresses: ['198.18.0.98'] }], labels: { [CREATED_BY_LABEL]: 'x' } }));
    link.deliver(topic('n1'), JSON.stringify({ version: 1, node: 'n1', interfaces: [], labels: {} }));
    link.deliver(topic('n1'), new Uint8Array(100_000));
    await ctl.idle();
    expect(await etcd.revision()).toBe(revision);
    expect((await spec('n1-auto-hep'))?.['expectedIPs']).toEqual(['198.18.0.39']);
    const refusals = lines.filter((l) => l.node === 'n1' && /refused|not used/.test(l.msg));
    expect(refusals.map((l) => l['reason'] ?? l['reportNode'])).toEqual([
      'n2',
      expect.stringMatching(/^report is not UTF-8 JSON/),
      expect.stringMatching(/^labels\.projectcalico\.org\/created-by: .*is reserved/),
      'the report lists no address that counts',
      'report is 100000 bytes, over the limit of 65536',
    ]);
    // Topics that are not a node's interfaces are not the controller's business.
    link.deliver(`${PREFIX}/nodes/n1/status`, 'x');
    link.deliver(`${PREFIX}/nodes/N1/interfaces`, report('n1', ['198.18.0.97']));
    link.deliver(`other/nodes/n1/interfaces`, report('n1', ['198.18.0.97']));
    await ctl.idle();
    expect(await etcd.revision()).toBe(revision);
  });

  test('clearing the report deletes the HEP; clearing again (or for an unknown node) does nothing', async () => {
    link.deliver(topic('n1'), '');
    await ctl.idle();
    expect(await hep('n1-auto-hep')).toBeUndefined();
    const revision = await etcd.revision();
    link.deliver(topic('n1'), '');
    link.deliver(topic('never-seen'), '');
    await ctl.idle();
    expect(await etcd.revision()).toBe(revision);
  });

  test('an operator\'s HEP named <node>-auto-hep (without outpost\'s label) is never changed nor deleted', async () => {
    const v = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n3-auto-hep', labels: { owner: 'ops' } }, spec: { node: 'n3', interfaceName: 'eth9' } });
    if (!v.ok) throw new Error('fixture');
    await store.create(v.resource as Resource);
    const revision = await etcd.revision();
    link.deliver(topic('n3'), report('n3', ['198.18.3.3']));
    await ctl.idle();
    link.deliver(topic('n3'), '');
    await ctl.idle();
    expect(await etcd.revision()).toBe(revision);
    expect(await spec('n3-auto-hep')).toEqual({ node: 'n3', interfaceName: 'eth9' });
    expect(lines.filter((l) => l.node === 'n3' && /not written/.test(l.msg)).length).toBe(2);
  });

  test('a value under <node>-auto-hep that cannot be read is left alone, not overwritten', async () => {
    const key = '/calico/resources/v3/projectcalico.org/hostendpoints/n7-auto-hep';
    await etcd.etcdctl(['put', key, '{not json']);
    const revision = await etcd.revision();
    link.deliver(topic('n7'), report('n7', ['198.18.7.7']));
    await ctl.idle();
    link.deliver(topic('n7'), '');
    await ctl.idle();
    expect(await etcd.revision()).toBe(revision);
    expect((await etcd.etcdctl(['get', key, '--print-value-only'])).stdout.trim()).toBe('{not json');
    expect(lines.filter((l) => l.node === 'n7' && /cannot be read/.test(l.msg)).length).toBe(2);
  });

  test('etcd away: the write is retried and lands once etcd is back', async () => {
    await etcd.stop();
    link.deliver(topic('n4'), report('n4', ['198.18.4.4']));
    await until('a failed write is logged', () => lines.some((l) => l.node === 'n4' && /trying again/.test(l.msg)));
    await etcd.restart();
    await until('the HEP is written', async () => (await spec('n4-auto-hep').catch(() => undefined))?.['node'] === 'n4');
    await ctl.idle();
  });

  test('rate limit: after a write, a node\'s next write waits out minWriteIntervalMs however often its report flaps', async () => {
    const link2 = new TestLink();
    const c2 = startAutoHepController({ link: link2, topicPrefix: PREFIX, store, log: pino({ level: 'silent' }), minWriteIntervalMs: 3_600_000, resyncIntervalMs: 0 });
    try {
      link2.deliver(topic('n6'), report('n6', ['198.18.6.1']));
      await until('the first report is written at once', async () => (await spec('n6-auto-hep'))?.['node'] === 'n6');
      const revision = await etcd.revision();
      for (let i = 0; i < 20; i++) {
        link2.deliver(topic('n6'), report('n6', [`198.18.6.${i + 2}`]));
        link2.deliver(topic('n6'), '');
        await Bun.sleep(10);
      }
      // Within the hour the next write waits for, nothing more reaches etcd.
      await Bun.sleep(300);
      expect(await etcd.revision()).toBe(revision);
      expect((await spec('n6-auto-hep'))?.['expectedIPs']).toEqual(['198.18.6.1']);
    } finally {
      await c2.stop();
    }
  });

  test('resync puts back outpost\'s HEP when someone deleted or edited it', async () => {
    const log = pino({ level: 'silent' });
    const link2 = new TestLink();
    const c2 = startAutoHepController({ link: link2, topicPrefix: PREFIX, store, log, minWriteIntervalMs: 50, retryMs: 50, resyncIntervalMs: 200 });
    try {
      link2.deliver(topic('n5'), report('n5', ['198.18.5.5']));
      await c2.idle();
      await store.delete('HostEndpoint', 'n5-auto-hep');
      await until('the deleted HEP is back', async () => (await spec('n5-auto-hep'))?.['node'] === 'n5');
      const found = (await hep('n5-auto-hep'))!;
      await store.update({ ...(found.object as unknown as Resource), spec: { node: 'n5', interfaceName: 'eth0' } } as Resource);
      await until('the edited HEP is put back', async () => (await spec('n5-auto-hep'))?.['interfaceName'] === '*');
    } finally {
      await c2.stop();
    }
  });
});
