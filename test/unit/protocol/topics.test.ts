import { describe, expect, test } from 'bun:test';
import {
  DEFAULT_TOPIC_PREFIX, TopicError, nodeFromTopic, nodeNameProblem, snapshotTopic, snapshotWildcard, statusTopic, statusWildcard, topicPrefixProblem,
} from '../../../src/protocol/topics.ts';

describe('topics', () => {
  test('build the per-node snapshot and status topics under the prefix', () => {
    expect(DEFAULT_TOPIC_PREFIX).toBe('outpost/v1');
    expect(snapshotTopic('outpost/v1', 'gw-1.site-a')).toBe('outpost/v1/nodes/gw-1.site-a/snapshot');
    expect(statusTopic('site/outpost', 'gw')).toBe('site/outpost/nodes/gw/status');
    expect(statusWildcard('outpost/v1')).toBe('outpost/v1/nodes/+/status');
    expect(snapshotWildcard('outpost/v1')).toBe('outpost/v1/nodes/+/snapshot');
  });

  test.each(['', '/outpost', 'outpost/', 'out//post', 'out+post', 'outpost/#', '$SYS/outpost', 'a\u0000b', 'x'.repeat(2000)])('refuses the prefix %j', (prefix) => {
    expect(topicPrefixProblem(prefix)).toBeString();
    expect(() => snapshotTopic(prefix, 'gw')).toThrow(TopicError);
    expect(() => statusWildcard(prefix)).toThrow(TopicError);
  });

  test.each(['', 'GW', 'gw/eth0', 'gw+', 'gw#', '-gw', 'gw-', 'g w', 'a'.repeat(254)])('refuses the node name %j', (node) => {
    expect(nodeNameProblem(node)).toBeString();
    expect(() => statusTopic('outpost/v1', node)).toThrow(TopicError);
  });

  test('accepts single-level and unicode prefixes', () => {
    expect(topicPrefixProblem('outpost')).toBeUndefined();
    expect(topicPrefixProblem('sites/zürich/outpost')).toBeUndefined();
  });

  test('reads the node and kind back from a topic, and ignores everything else', () => {
    expect(nodeFromTopic('outpost/v1', 'outpost/v1/nodes/gw/status')).toEqual({ node: 'gw', kind: 'status' });
    expect(nodeFromTopic('outpost/v1', 'outpost/v1/nodes/gw.a/snapshot')).toEqual({ node: 'gw.a', kind: 'snapshot' });
    for (const other of ['outpost/v2/nodes/gw/status', 'outpost/v1/nodes/gw/other', 'outpost/v1/nodes/gw/status/x', 'outpost/v1/nodes//status', 'outpost/v1/nodes/GW/status', 'outpost/v1/x/gw/status', 'outpost/v1nodes/gw/status']) {
      expect(nodeFromTopic('outpost/v1', other)).toBeUndefined();
    }
  });
});
