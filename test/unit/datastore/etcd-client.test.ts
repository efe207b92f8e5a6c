/** EtcdClient against a scripted fetch: failover, timeouts, response validation, the watch stream. */
import { describe, expect, test } from 'bun:test';
import { EtcdClient, EtcdError, prefixRangeEnd, type WatchMessage } from '../../../src/etcd/client.ts';
import { parseWatchLine } from '../../../src/etcd/watch-stream.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const header = (revision: string) => ({ cluster_id: '1', member_id: '2', revision, raft_term: '3' });

type Handler = (url: string, body: unknown, init: RequestInit) => Response | Promise<Response>;
function fakeFetch(handler: Handler) {
  const calls: { url: string; body: unknown }[] = [];
  const fn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const body = JSON.parse(String(init?.body ?? '{}')) as unknown;
    calls.push({ url, body });
    return handler(url, body, init ?? {});
  }) as typeof fetch;
  return { fn, calls };
}
const refused = () => {
  throw Object.assign(new TypeError('ECONNREFUSED: Unable to connect'), { code: 'ECONNREFUSED' });
};
const json = (x: unknown, status = 200) => new Response(JSON.stringify(x), { status });

describe('EtcdClient unary calls', () => {
  test('decodes base64 keys and values and keeps int64 revisions exact', async () => {
    const f = fakeFetch(() =>
      json({ header: header('9007199254740993'), kvs: [{ key: b64('/a'), create_revision: '5', mod_revision: '9007199254740993', version: '2', value: b64('{"x":"é"}') }], count: '1' }),
    );
    const c = new EtcdClient({ endpoints: ['http://e1:2379'], fetch: f.fn });
    const r = await c.range('/a', { prefix: true });
    expect(r).toEqual({ revision: '9007199254740993', more: false, kvs: [{ key: '/a', value: '{"x":"é"}', createRevision: '5', modRevision: '9007199254740993', version: '2' }] });
    expect(f.calls[0]).toEqual({ url: 'http://e1:2379/v3/kv/range', body: { key: b64('/a'), range_end: b64('/b') } });
  });

  test('reads fail over to the next endpoint and stick to the one that answered', async () => {
    const f = fakeFetch((url) => (url.startsWith('http://e1') ? refused() : json({ header: header('3') })));
    const c = new EtcdClient({ endpoints: ['http://e1:2379', 'http://e2:2379'], fetch: f.fn });
    expect((await c.range('/k')).revision).toBe('3');
    expect((await c.range('/k')).revision).toBe('3');
    expect(f.calls.map((x) => new URL(x.url).host)).toEqual(['e1:2379', 'e2:2379', 'e2:2379']);
  });

  test('all endpoints down: UNAVAILABLE naming each', async () => {
    const c = new EtcdClient({ endpoints: ['http://e1:1', 'http://e2:1'], fetch: fakeFetch(refused).fn });
    const e = await c.range('/k').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EtcdError);
    expect((e as EtcdError).code).toBe('UNAVAILABLE');
    expect((e as EtcdError).message).toContain('http://e1:1: ECONNREFUSED');
    expect((e as EtcdError).message).toContain('http://e2:1: ECONNREFUSED');
  });

  test('a write that times out is not retried elsewhere: it may have been applied', async () => {
    const f = fakeFetch((url, _b, init) =>
      url.startsWith('http://e1')
        ? new Promise<Response>((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('timed out', 'TimeoutError'))))
        : json({ header: header('4'), succeeded: true, responses: [{ response_put: { header: { revision: '4' } } }] }),
    );
    const c = new EtcdClient({ endpoints: ['http://e1:2379', 'http://e2:2379'], fetch: f.fn, timeoutMs: 30 });
    const e = (await c.create('/k', 'v').catch((x: unknown) => x)) as EtcdError;
    expect(e.code).toBe('TIMEOUT');
    expect(e.message).toContain('may or may not have been applied');
    expect(f.calls).toHaveLength(1);
    // A refused connection is safe to retry elsewhere.
    const g = fakeFetch((url) => (url.startsWith('http://e1') ? refused() : json({ header: header('4'), succeeded: true, responses: [{ response_put: { header: { revision: '4' } } }] })));
    expect(await new EtcdClient({ endpoints: ['http://e1:2379', 'http://e2:2379'], fetch: g.fn }).create('/k', 'v')).toEqual({ ok: true, revision: '4' });
  });

  test('txn outcomes: create/update/delete success and the current value on failure', async () => {
    const kv = { key: b64('/k'), create_revision: '2', mod_revision: '7', version: '3', value: b64('old') };
    const f = fakeFetch((_u, body) => {
      const b = body as { compare: { target: string }[]; success: unknown[] };
      if (b.compare[0]?.target === 'VERSION') return json({ header: header('8'), responses: [{ response_range: { header: { revision: '8' }, kvs: [kv], count: '1' } }] });
      if (b.compare.length === 0) return json({ header: header('9'), succeeded: true, responses: [{ response_delete_range: { header: {}, deleted: '1', prev_kvs: [kv] } }] });
      return json({ header: header('8'), responses: [{ response_range: { header: {} } }] });
    });
    const c = new EtcdClient({ endpoints: ['http://e:2379'], fetch: f.fn });
    expect(await c.create('/k', 'new')).toEqual({ ok: false, revision: '8', current: { key: '/k', value: 'old', createRevision: '2', modRevision: '7', version: '3' } });
    expect(await c.update('/k', 'new', '6')).toEqual({ ok: false, revision: '8', current: undefined });
    expect(await c.delete('/k')).toMatchObject({ ok: true, revision: '9', deleted: { key: '/k', modRevision: '7' } });
    expect(f.calls[1]?.body).toEqual({
      compare: [{ target: 'MOD', key: b64('/k'), result: 'EQUAL', mod_revision: '6' }],
      success: [{ request_put: { key: b64('/k'), value: b64('new') } }],
      failure: [{ request_range: { key: b64('/k') } }],
    });
  });

  test('malformed responses and gateway errors are classified and name the problem', async () => {
    const bad = new EtcdClient({ endpoints: ['http://e:2379'], fetch: fakeFetch(() => json({ header: { revision: 'twelve' } })).fn });
    const e = (await bad.range('/k').catch((x: unknown) => x)) as EtcdError;
    expect(e.code).toBe('BAD_RESPONSE');
    expect(e.message).toContain('header.revision: must be a decimal integer');
    const notJson = new EtcdClient({ endpoints: ['http://e:2379'], fetch: fakeFetch(() => new Response('<html>', { status: 200 })).fn });
    expect(((await notJson.range('/k').catch((x: unknown) => x)) as EtcdError).code).toBe('BAD_RESPONSE');
    const compacted = new EtcdClient({
      endpoints: ['http://e:2379'],
      fetch: fakeFetch(() => json({ error: 'etcdserver: mvcc: required revision has been compacted', message: 'etcdserver: mvcc: required revision has been compacted', code: 11 }, 400)).fn,
    });
    expect(((await compacted.range('/k', { revision: '2' }).catch((x: unknown) => x)) as EtcdError).code).toBe('COMPACTED');
    const refusedOp = new EtcdClient({ endpoints: ['http://e:2379'], fetch: fakeFetch(() => json({ error: 'permission denied', message: 'etcdserver: permission denied', code: 7 }, 403)).fn });
    const p = (await refusedOp.put('/k', 'v').catch((x: unknown) => x)) as EtcdError;
    expect([p.code, p.grpcCode, p.message]).toEqual(['SERVER', 7, 'etcd /v3/kv/put at http://e:2379: etcdserver: permission denied']);
  });

  test('rejects endpoints that are not http(s)://host:port', () => {
    expect(() => new EtcdClient({ endpoints: ['127.0.0.1:2379'] })).toThrow(/must be http/);
    expect(() => new EtcdClient({ endpoints: [] })).toThrow(/no etcd endpoints/);
  });

  test('prefix range ends bump the last byte below 0xff', () => {
    expect(Buffer.from(prefixRangeEnd('/calico/'), 'base64').toString()).toBe('/calico0');
    expect(prefixRangeEnd('')).toBe(b64('\0'));
  });
});

/** Delivers the chunks one read at a time, then ends (or fails, like a reset connection). */
function streamOf(chunks: string[], fail?: Error): ReadableStream<Uint8Array> {
  const queue = [...chunks];
  return new ReadableStream({
    pull(controller) {
      const next = queue.shift();
      if (next !== undefined) controller.enqueue(new TextEncoder().encode(next));
      else if (fail) controller.error(fail);
      else controller.close();
    },
  });
}

async function collect(gen: AsyncGenerator<WatchMessage>): Promise<{ msgs: WatchMessage[]; error?: EtcdError }> {
  const msgs: WatchMessage[] = [];
  try {
    for await (const m of gen) msgs.push(m);
    return { msgs };
  } catch (e) {
    return { msgs, error: e as EtcdError };
  }
}

describe('EtcdClient.watch', () => {
  const created = JSON.stringify({ result: { header: header('10'), created: true } });
  const events = JSON.stringify({
    result: {
      header: header('12'),
      events: [
        { kv: { key: b64('/a'), create_revision: '11', mod_revision: '11', version: '1', value: b64('v1') } },
        { type: 'DELETE', kv: { key: b64('/b'), mod_revision: '12' }, prev_kv: { key: b64('/b'), mod_revision: '3', value: b64('old') } },
      ],
    },
  });

  test('messages split across chunks; a stream end is "closed"', async () => {
    const text = `${created}\n${events}\n`;
    const f = fakeFetch(() => new Response(streamOf([text.slice(0, 17), text.slice(17, 140), text.slice(140)])));
    const c = new EtcdClient({ endpoints: ['http://e:2379'], fetch: f.fn });
    const { msgs, error } = await collect(c.watch('/a', { prefix: true, startRevision: '11', prevKv: true, livenessMs: 60_000 }));
    expect(error).toBeUndefined();
    expect(msgs.map((m) => m.type)).toEqual(['created', 'events', 'closed']);
    const ev = msgs[1] as Extract<WatchMessage, { type: 'events' }>;
    expect(ev.revision).toBe('12');
    expect(ev.events.map((e) => [e.type, e.kv.key, e.kv.value, e.prevKv?.value])).toEqual([['put', '/a', 'v1', undefined], ['delete', '/b', '', 'old']]);
    expect(f.calls[0]?.body).toEqual({ create_request: { key: b64('/a'), range_end: b64('/b'), start_revision: '11', prev_kv: true } });
  });

  test('compaction ends the watch with the compact revision', async () => {
    const compacted = JSON.stringify({ result: { header: { cluster_id: '1' }, canceled: true, compact_revision: '40' } });
    const c = new EtcdClient({ endpoints: ['http://e:2379'], fetch: fakeFetch(() => new Response(streamOf([`${created}\n${compacted}\n${events}\n`]))).fn });
    const { msgs } = await collect(c.watch('/a', { startRevision: '2', livenessMs: 60_000 }));
    expect(msgs).toEqual([{ type: 'created', revision: '10' }, { type: 'compacted', compactRevision: '40' }]);
  });

  test('a broken connection is UNAVAILABLE; an error object in the stream is SERVER', async () => {
    const broken = new EtcdClient({ endpoints: ['http://e:2379'], fetch: fakeFetch(() => new Response(streamOf([`${created}\n`], new Error('socket closed')))).fn });
    const r1 = await collect(broken.watch('/a', { startRevision: '1', livenessMs: 60_000 }));
    expect(r1.msgs.map((m) => m.type)).toEqual(['created']);
    expect(r1.error?.code).toBe('UNAVAILABLE');
    const errLine = JSON.stringify({ error: { grpc_code: 9, http_code: 400, message: 'etcdserver: no leader', http_status: 'Bad Request' } });
    const server = new EtcdClient({ endpoints: ['http://e:2379'], fetch: fakeFetch(() => new Response(streamOf([`${errLine}\n`]))).fn });
    const r2 = await collect(server.watch('/a', { startRevision: '1', livenessMs: 60_000 }));
    expect([r2.error?.code, r2.error?.grpcCode, r2.error?.message]).toEqual(['SERVER', 9, 'etcd watch at http://e:2379: etcdserver: no leader']);
  });

  test('a quiet watch whose endpoint stops answering fails after the liveness check', async () => {
    let statusCalls = 0;
    const f = fakeFetch((url, _b, init) => {
      if (url.endsWith('/v3/maintenance/status')) {
        statusCalls++;
        return refused();
      }
      return new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(`${created}\n`));
            init.signal?.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')));
          },
        }),
      );
    });
    const c = new EtcdClient({ endpoints: ['http://e:2379'], fetch: f.fn });
    const r = await collect(c.watch('/a', { startRevision: '1', livenessMs: 20 }));
    expect(r.error?.code).toBe('UNAVAILABLE');
    expect(r.error?.message).toContain('stopped answering');
    expect(statusCalls).toBeGreaterThan(0);
  });

  test('aborting the caller signal ends the watch quietly', async () => {
    const ac = new AbortController();
    const f = fakeFetch((_u, _b, init) =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(`${created}\n`));
            init.signal?.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')));
          },
        }),
      ),
    );
    const c = new EtcdClient({ endpoints: ['http://e:2379'], fetch: f.fn });
    setTimeout(() => ac.abort(), 20);
    const r = await collect(c.watch('/a', { startRevision: '1', signal: ac.signal, livenessMs: 60_000 }));
    expect(r).toEqual({ msgs: [{ type: 'created', revision: '10' }] });
  });
});

describe('parseWatchLine', () => {
  test('progress notifications and other cancellations', () => {
    expect(parseWatchLine(JSON.stringify({ result: { header: header('30') } }), 'e')).toEqual({ type: 'progress', revision: '30' });
    expect(parseWatchLine(JSON.stringify({ result: { header: header('30'), canceled: true, cancel_reason: 'permission denied' } }), 'e')).toEqual({ type: 'canceled', reason: 'permission denied' });
    expect(() => parseWatchLine('{"result": {"events": [{"kv": {"key": "%%%"}}]}}', 'e')).toThrow(/events\.0\.kv\.key: must be base64/);
    expect(() => parseWatchLine('nope', 'e')).toThrow(/not JSON/);
  });
});
