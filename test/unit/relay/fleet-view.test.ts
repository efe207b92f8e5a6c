/** outpost fleet's pure part: rows, flags, verdict and text from retained messages, hostile ones included. */
import { describe, expect, test } from 'bun:test';
import { age, buildFleetReport, formatFleetText, shortHash } from '../../../src/cli/fleet-view.ts';
import { encodeExpected } from '../../../src/protocol/expected.ts';
import { encodeRelayStatus } from '../../../src/protocol/relay-status.ts';

const P = 'outpost/v1';
const H1 = `sha256:${'1'.repeat(64)}`;
const H2 = `sha256:${'2'.repeat(64)}`;
const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const status = (node: string, o: Record<string, unknown>) => [`${P}/nodes/${node}/status`, enc({ node, refused: {}, since: '2026-12-01T10:00:00.000Z', ...o })] as const;
const expected = (node: string, hash: string, revision = '7') => [`${P}/nodes/${node}/expected`, encodeExpected({ node, revision, hash, issuedAt: Date.parse('2026-12-01T09:00:00Z') })] as const;
const report = (...entries: (readonly [string, Uint8Array])[]) => buildFleetReport(P, new Map(entries));

describe('fleet report', () => {
  test('in sync, behind, offline, erroring, no status: flags, summary and verdict', () => {
    const r = report(
      status('a', { state: 'in-sync', revision: '7', hash: H1 }), expected('a', H1),
      status('b', { state: 'in-sync', revision: '6', hash: H2 }), expected('b', H1),
      status('c', { state: 'offline', revision: '7', hash: H1 }), expected('c', H1),
      status('d', { state: 'error', revision: '7', hash: H1, lastError: 'nft: syntax error\nline 2' }), expected('d', H1),
      expected('e', H1),
    );
    const byNode = Object.fromEntries(r.nodes.map((n) => [n.node, n]));
    expect(byNode['a']!.inSync).toBe(true);
    expect(byNode['b']!.flags).toEqual(['behind']);
    expect(byNode['c']!.flags).toEqual(['offline']);
    expect(byNode['d']!.flags).toEqual(['error']);
    expect(byNode['e']!.flags).toEqual(['no-status']);
    expect(r.summary).toBe('5 nodes: 1 in sync, 1 behind, 1 offline, 1 error, 1 no-status');
    expect(r.allInSync).toBe(false);
    const text = formatFleetText(r, Date.parse('2026-12-01T10:05:00Z'));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^ +NODE +STATE +APPLIED +EXPECTED +REVISION +AGE +FLAGS +LAST ERROR$/);
    expect(lines.find((l) => l.includes(' b '))).toMatch(/^! b +in-sync +222222222222 +111111111111 +6\/7 +5m +behind$/);
    expect(lines.find((l) => l.includes(' a '))!.startsWith('  a ')).toBe(true);
    expect(text).toContain('nft: syntax error');
    expect(text).not.toContain('line 2');
  });

  test('all in sync: exit-0 verdict; an old relay without expectations: in-sync states are enough', () => {
    expect(report(status('a', { state: 'in-sync', hash: H1 }), expected('a', H1)).allInSync).toBe(true);
    expect(report(status('a', { state: 'in-sync', hash: H1 }), status('b', { state: 'in-sync', hash: H2 })).allInSync).toBe(true);
    expect(report().allInSync).toBe(false);
  });

  test('a status from an older agent (no optional fields) reads; a newer agent\'s unknown fields are ignored', () => {
    const r = report(status('a', { state: 'cached' }), status('b', { state: 'in-sync', hash: H1, futureField: { x: 1 } }), expected('b', H1));
    expect(r.unreadable).toEqual([]);
    expect(r.nodes.find((n) => n.node === 'a')!.flags).toContain('cached');
    expect(r.nodes.find((n) => n.node === 'b')!.inSync).toBe(true);
  });

  test('garbage on any topic is reported with the topic, never fatal; hostile text cannot reach the terminal raw', () => {
    const r = report(
      [`${P}/nodes/a/status`, new Uint8Array([0xff, 0xfe, 0x00])],
      [`${P}/nodes/b/status`, enc({ node: 'b', state: 'dancing', refused: {}, since: 'x' })],
      [`${P}/nodes/c/status`, enc({ node: 'someone-else', state: 'in-sync', refused: {}, since: '2026-12-01T10:00:00Z' })],
      [`${P}/nodes/d/expected`, enc({ node: 'd', revision: '-1', hash: 'x', issuedAt: 'now' })],
      [`${P}/relay/held-back`, enc({ count: 'many' })],
      [`${P}/relay/status`, enc([])],
      [`${P}/nodes/UPPER/status`, enc({})],
      status('e', { state: 'error', hash: H1, lastError: '\u001b[2J\u001b]0;pwned\u0007boom' }),
      [`${P}/nodes/f/status`, new Uint8Array()],
    );
    expect(r.unreadable.map((u) => u.topic)).toEqual([`${P}/nodes/UPPER/status`, `${P}/nodes/a/status`, `${P}/nodes/b/status`, `${P}/nodes/c/status`, `${P}/nodes/d/expected`, `${P}/relay/held-back`, `${P}/relay/status`]);
    expect(r.unreadable.find((u) => u.topic.endsWith('/b/status'))!.problem).toContain('state');
    expect(r.nodes.map((n) => n.node)).toEqual(['e']);
    const text = formatFleetText(r, Date.now());
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(text).toContain('unreadable messages (7)');
  });

  test('an unreadable held-back list, relay status or node status is not taken for "nothing held back, all in sync"', () => {
    const ok = [status('a', { state: 'in-sync', hash: H1 }), expected('a', H1)] as const;
    expect(report(...ok).allInSync).toBe(true);
    expect(report(...ok, [`${P}/relay/held-back`, enc({ count: 3, items: [{ kind: 'K', name: 'n'.repeat(400), source: 's', reason: 'r', lastValidInForce: true }], since: '2026-12-01T10:00:00.000Z' })]).allInSync).toBe(false);
    expect(report(...ok, [`${P}/relay/status`, enc({ testsFailing: 'yes' })]).allInSync).toBe(false);
    expect(report(...ok, [`${P}/nodes/b/status`, enc({ node: 'b', state: 'dancing' })]).allInSync).toBe(false);
  });

  test('bidirectional overrides in a held-back name or reason cannot reorder what the terminal shows', () => {
    const held = [`${P}/relay/held-back`, enc({ count: 1, items: [{ kind: 'GlobalNetworkPolicy', name: 'a\u202edecrofne', source: 's\u2066', reason: 'r\u200f\u2069', lastValidInForce: false }], since: '2026-12-01T10:00:00.000Z' })] as const;
    const text = formatFleetText(report(status('a', { state: 'in-sync', hash: H1 }), held), Date.now());
    expect(text).not.toMatch(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
    expect(text).toContain('decrofne');
  });

  test('held back and failing relay tests stand out and fail the verdict', () => {
    const held = [`${P}/relay/held-back`, enc({ count: 3, items: [{ kind: 'GlobalNetworkPolicy', name: 'bad', source: '/calico/x/bad', reason: 'spec.selector: bad', lastValidInForce: true }], since: '2026-12-01T10:00:00.000Z' })] as const;
    const relay = [`${P}/relay/status`, encodeRelayStatus({ testsFailing: true, tests: { total: 4, failed: 1 }, publishedRevision: '7', failingRevision: '9', failures: [{ test: 'web reaches db', expected: 'allow', got: 'deny' }], since: '2026-12-01T10:00:00.000Z' })] as const;
    const r = report(status('a', { state: 'in-sync', hash: H1 }), expected('a', H1), held, relay);
    expect(r.allInSync).toBe(false);
    expect(r.summary).toBe('1 node: 1 in sync, 3 resources held back as invalid, relay policy tests FAILING');
    const text = formatFleetText(r, Date.now());
    expect(text.split('\n')[0]).toBe('RELAY: policy tests FAILING (1 of 4) since 2026-12-01T10:00:00.000Z: revision 9 is NOT published; revision 7 stays in force');
    expect(text).toContain('  - web reaches db: expected allow, got deny');
    expect(text).toContain('held back as invalid (3, first 1 shown):');
    expect(text).toContain('GlobalNetworkPolicy bad (/calico/x/bad): spec.selector: bad; last valid version in force');
  });

  test('a relay whose tests fail before it published anything says the older snapshots stay in force, not "(none)"', () => {
    // After a restart the relay has published nothing yet, but the broker still holds what the
    // previous run published and the agents enforce it.
    const relay = [`${P}/relay/status`, encodeRelayStatus({ testsFailing: true, tests: { total: 1, failed: 1 }, failingRevision: '9', failures: [{ test: 't', expected: 'allow', got: 'deny' }], since: '2026-12-01T10:00:00.000Z' })] as const;
    const text = formatFleetText(report(status('a', { state: 'in-sync', hash: H1 }), expected('a', H1), relay), Date.now());
    expect(text.split('\n')[0]).toBe('RELAY: policy tests FAILING (1 of 1) since 2026-12-01T10:00:00.000Z: revision 9 is NOT published; the snapshots published before the relay started stay in force');
  });

  test('staged counts and nodes the relay does not expect stand out', () => {
    const r = report(
      status('a', { state: 'in-sync', hash: H1, staged: [{ policy: 'default.new', wouldAllow: 2, wouldDeny: 5 }] }), expected('a', H1),
      status('z', { state: 'in-sync', hash: H2 }),
    );
    expect(r.nodes[0]!.flags).toEqual(['staged']);
    expect(r.nodes[0]!.inSync).toBe(true);
    expect(r.nodes[1]!.flags).toEqual(['not-expected']);
    expect(formatFleetText(r, Date.now())).toContain('staged:5deny/2allow');
  });

  test('a node that reports resources held back (local mode) stands out and is not in sync', () => {
    const r = report(status('a', { state: 'in-sync', source: 'local', hash: H1, heldBack: 2 }));
    expect(r.nodes[0]!.flags).toEqual(['held-back']);
    expect(r.nodes[0]!.inSync).toBe(false);
    expect(r.summary).toBe('1 node: 0 in sync, 1 held-back');
  });

  test('short hashes and ages', () => {
    expect(shortHash(H1)).toBe('111111111111');
    expect(shortHash(undefined)).toBe('-');
    expect(age('2026-12-01T10:00:00Z', Date.parse('2026-12-01T10:00:30Z'))).toBe('30s');
    expect(age('2026-12-01T10:00:00Z', Date.parse('2026-12-03T10:00:00Z'))).toBe('2d');
    expect(age('garbage', Date.now())).toBe('-');
  });
});
