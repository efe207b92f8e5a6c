import { describe, expect, test } from 'bun:test';
import { canonicalJson } from '../../../src/protocol/canonical-json.ts';
import { MAX_LAST_ERROR, buildStatus, decodeStatus, encodeStatus, lastWillPayload } from '../../../src/protocol/status.ts';

const since = new Date('2025-03-01T12:00:00.000Z');
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('agent status', () => {
  test('encodes as canonical JSON with absent fields left out', () => {
    const payload = encodeStatus({ node: 'gw', state: 'cached', revision: '42', hash: 'sha256:ab', since, lastError: undefined });
    expect(text(payload)).toBe('{"hash":"sha256:ab","node":"gw","refused":{},"revision":"42","since":"2025-03-01T12:00:00.000Z","state":"cached"}');
    expect(canonicalJson(JSON.parse(text(payload)))).toBe(text(payload));
  });

  test('keeps refusal counters that are above zero', () => {
    const s = buildStatus({ node: 'gw', state: 'in-sync', refused: { 'bad-signature': 2, stale: 0, malformed: 1 }, since });
    expect(s.refused).toEqual({ 'bad-signature': 2, malformed: 1 });
  });

  test('cuts a long lastError', () => {
    const s = buildStatus({ node: 'gw', state: 'error', lastError: 'x'.repeat(10_000), since });
    expect(s.lastError).toHaveLength(MAX_LAST_ERROR);
    expect(s.lastError).toEndWith('…');
  });

  test('stale: the issue time of the snapshot in force and how often it went stale', () => {
    const payload = encodeStatus({ node: 'gw', state: 'stale', revision: '42', issuedAt: Date.UTC(2025, 2, 1, 11, 0, 0), staleCount: 2, since });
    const r = decodeStatus(payload);
    expect(r.ok && r.status).toMatchObject({ state: 'stale', issuedAt: '2025-03-01T11:00:00.000Z', staleCount: 2 });
    // Zero is left out, like the refusal counters.
    expect(buildStatus({ node: 'gw', state: 'in-sync', staleCount: 0, since }).staleCount).toBeUndefined();
  });

  test('the last will says offline', () => {
    const r = decodeStatus(lastWillPayload('gw', since));
    expect(r).toEqual({ ok: true, status: { node: 'gw', state: 'offline', refused: {}, since: '2025-03-01T12:00:00.000Z' } });
  });

  test('round-trips through decodeStatus, and tolerates refusal reasons it does not know', () => {
    const payload = encodeStatus({ node: 'gw', state: 'error', lastError: 'nft: exit 1', refused: { stale: 3 }, since });
    expect(decodeStatus(payload)).toEqual({ ok: true, status: buildStatus({ node: 'gw', state: 'error', lastError: 'nft: exit 1', refused: { stale: 3 }, since }) });
    const newer = new TextEncoder().encode('{"node":"gw","refused":{"from-the-future":1},"since":"2025-03-01T12:00:00.000Z","state":"in-sync"}');
    expect(decodeStatus(newer).ok).toBeTrue();
  });

  test.each([
    ['not JSON', 'nope', 'status is not UTF-8 JSON'],
    ['an unknown state', '{"node":"gw","refused":{},"since":"2025-03-01T12:00:00.000Z","state":"sleeping"}', 'state: '],
    ['a negative counter', '{"node":"gw","refused":{"stale":-1},"since":"2025-03-01T12:00:00.000Z","state":"cached"}', 'refused.stale: '],
    ['a bad time', '{"node":"gw","refused":{},"since":"yesterday","state":"cached"}', 'since: '],
  ])('refuses a status with %s', (_what, raw, message) => {
    const r = decodeStatus(new TextEncoder().encode(raw));
    expect(r.ok).toBeFalse();
    if (!r.ok) expect(r.message).toStartWith(message);
  });
});
