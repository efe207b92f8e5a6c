import { describe, expect, test } from 'bun:test';
import { aclAllows, clientIdProblem } from '../../../src/mqtt/broker-acl.ts';

const ctx = { prefix: 'outpost/v1', relayIdentity: 'relay' };
const allows = (id: string | undefined, action: 'subscribe' | 'receive' | 'publish', topic: string) => aclAllows(id, action, topic, ctx);

describe('node identity', () => {
  test('reads only its own snapshot, writes only its own status', () => {
    expect(allows('gw', 'subscribe', 'outpost/v1/nodes/gw/snapshot')).toBe(true);
    expect(allows('gw', 'receive', 'outpost/v1/nodes/gw/snapshot')).toBe(true);
    expect(allows('gw', 'publish', 'outpost/v1/nodes/gw/status')).toBe(true);
    expect(allows('gw', 'publish', 'outpost/v1/nodes/gw/snapshot')).toBe(false);
    expect(allows('gw', 'subscribe', 'outpost/v1/nodes/gw/status')).toBe(false);
    expect(allows('gw', 'receive', 'outpost/v1/nodes/gw/status')).toBe(false);
  });
  test("another node's topics, wildcards and foreign prefixes are refused", () => {
    for (const t of ['outpost/v1/nodes/db/snapshot', 'outpost/v1/nodes/db/status', '#', 'outpost/#', 'outpost/v1/nodes/+/snapshot', 'outpost/v1/nodes/gw/#', 'outpost/v1/nodes/gw/+', '$SYS/#', 'other/v1/nodes/gw/snapshot', 'outpost/v1/nodes/gw/snapshot/x']) {
      expect(allows('gw', 'subscribe', t)).toBe(false);
      expect(allows('gw', 'receive', t)).toBe(false);
      expect(allows('gw', 'publish', t)).toBe(false);
    }
  });
  test('a prefix of another node name is not the node', () => {
    expect(allows('gw', 'receive', 'outpost/v1/nodes/gw2/snapshot')).toBe(false);
    expect(allows('gw2', 'receive', 'outpost/v1/nodes/gw/snapshot')).toBe(false);
  });
  test('no identity, or an identity that is not a node name, gets nothing', () => {
    expect(allows(undefined, 'receive', 'outpost/v1/nodes/gw/snapshot')).toBe(false);
    expect(allows('', 'publish', 'outpost/v1/nodes//status')).toBe(false);
    expect(allows('+', 'subscribe', 'outpost/v1/nodes/+/snapshot')).toBe(false);
    expect(allows('#', 'subscribe', 'outpost/v1/nodes/#/snapshot')).toBe(false);
    expect(allows('a/b', 'publish', 'outpost/v1/nodes/a/b/status')).toBe(false);
  });
});

describe('relay identity', () => {
  test('publishes every snapshot, reads snapshots and statuses, publishes no status', () => {
    expect(allows('relay', 'publish', 'outpost/v1/nodes/gw/snapshot')).toBe(true);
    expect(allows('relay', 'subscribe', 'outpost/v1/nodes/+/snapshot')).toBe(true);
    expect(allows('relay', 'subscribe', 'outpost/v1/nodes/+/status')).toBe(true);
    expect(allows('relay', 'receive', 'outpost/v1/nodes/gw/status')).toBe(true);
    expect(allows('relay', 'receive', 'outpost/v1/nodes/gw/snapshot')).toBe(true);
    expect(allows('relay', 'publish', 'outpost/v1/nodes/gw/status')).toBe(false);
  });
  test('no multi-level wildcard or topic outside the tree', () => {
    for (const t of ['#', 'outpost/v1/#', 'outpost/v1/nodes/#', '$SYS/#', 'outpost/v1/other', 'outpost/v1/nodes/+/+']) {
      expect(allows('relay', 'subscribe', t)).toBe(false);
    }
    expect(allows('relay', 'publish', 'outpost/v1/nodes/+/snapshot')).toBe(false);
    expect(allows('relay', 'publish', 'outpost/v1/elsewhere')).toBe(false);
  });
});

describe('client ids', () => {
  test("a node cannot take another node's or the relay's session", () => {
    expect(clientIdProblem('gw', 'outpost-agent-gw', 'relay')).toBeUndefined();
    expect(clientIdProblem('gw', 'mosquitto_sub-123', 'relay')).toBeUndefined();
    expect(clientIdProblem('gw', 'outpost-agent-db', 'relay')).toContain('another node');
    expect(clientIdProblem('gw', 'outpost-relay-1234', 'relay')).toContain('relay');
    expect(clientIdProblem('relay', 'outpost-relay-1234', 'relay')).toBeUndefined();
  });
});

describe('issue 13 roles (expectations, held-back, interfaces, fleet readers)', () => {
  const fctx = { prefix: 'outpost/v1', relayIdentity: 'relay', fleetReaders: new Set(['fleet', 'ops.example']) };
  const may = (id: string, action: 'subscribe' | 'receive' | 'publish', topic: string) => aclAllows(id, action, topic, fctx);
  test('node N: publishes its interfaces, reads the held-back list; not another node\'s, never expected or relay status', () => {
    expect(may('gw', 'publish', 'outpost/v1/nodes/gw/interfaces')).toBe(true);
    expect(may('gw', 'subscribe', 'outpost/v1/relay/held-back')).toBe(true);
    expect(may('gw', 'receive', 'outpost/v1/relay/held-back')).toBe(true);
    expect(may('gw', 'publish', 'outpost/v1/nodes/db/interfaces')).toBe(false);
    expect(may('gw', 'publish', 'outpost/v1/relay/held-back')).toBe(false);
    expect(may('gw', 'publish', 'outpost/v1/nodes/gw/expected')).toBe(false);
    expect(may('gw', 'receive', 'outpost/v1/nodes/gw/expected')).toBe(false);
    expect(may('gw', 'receive', 'outpost/v1/nodes/gw/interfaces')).toBe(false);
    expect(may('gw', 'subscribe', 'outpost/v1/relay/status')).toBe(false);
    expect(may('gw', 'subscribe', 'outpost/v1/relay/+')).toBe(false);
  });
  test('relay: publishes snapshots, expectations, held-back and its status; reads statuses, snapshots, expectations, interfaces', () => {
    for (const t of ['outpost/v1/nodes/gw/snapshot', 'outpost/v1/nodes/gw/expected', 'outpost/v1/relay/held-back', 'outpost/v1/relay/status']) expect(may('relay', 'publish', t)).toBe(true);
    for (const k of ['snapshot', 'status', 'expected', 'interfaces']) {
      expect(may('relay', 'subscribe', `outpost/v1/nodes/+/${k}`)).toBe(true);
      expect(may('relay', 'receive', `outpost/v1/nodes/gw/${k}`)).toBe(true);
    }
    for (const t of ['outpost/v1/nodes/gw/status', 'outpost/v1/nodes/gw/interfaces', 'outpost/v1/nodes/+/expected', 'outpost/v1/relay/other', 'outpost/v1/nodes/gw/other']) expect(may('relay', 'publish', t)).toBe(false);
    expect(may('relay', 'subscribe', 'outpost/v1/nodes/+/other')).toBe(false);
  });
  test('fleet reader: reads statuses, expectations, held-back and relay status; no snapshot, no interfaces, no write', () => {
    for (const id of ['fleet', 'ops.example']) {
      for (const t of ['outpost/v1/nodes/+/status', 'outpost/v1/nodes/+/expected', 'outpost/v1/relay/held-back', 'outpost/v1/relay/status']) expect(may(id, 'subscribe', t)).toBe(true);
      for (const t of ['outpost/v1/nodes/gw/status', 'outpost/v1/nodes/gw/expected', 'outpost/v1/relay/held-back', 'outpost/v1/relay/status']) expect(may(id, 'receive', t)).toBe(true);
      for (const t of ['outpost/v1/nodes/+/snapshot', 'outpost/v1/nodes/gw/snapshot', 'outpost/v1/nodes/+/interfaces', 'outpost/v1/nodes/gw/interfaces', '#', 'outpost/v1/#', 'outpost/v1/nodes/+/+', '$SYS/#']) {
        expect(may(id, 'subscribe', t)).toBe(false);
        expect(may(id, 'receive', t)).toBe(false);
      }
      for (const t of ['outpost/v1/nodes/gw/status', 'outpost/v1/nodes/fleet/status', 'outpost/v1/relay/held-back', 'outpost/v1/relay/status', 'outpost/v1/nodes/gw/expected']) expect(may(id, 'publish', t)).toBe(false);
    }
  });
  test('a reader is a reader only when configured; a node named like one is not a reader elsewhere', () => {
    expect(aclAllows('fleet', 'subscribe', 'outpost/v1/nodes/+/status', ctx)).toBe(false);
    expect(aclAllows('fleet', 'publish', 'outpost/v1/nodes/fleet/status', ctx)).toBe(true);
    expect(may('fleet', 'publish', 'outpost/v1/nodes/fleet/status')).toBe(false);
  });
});
