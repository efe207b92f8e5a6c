import { describe, expect, test } from 'bun:test';
import { callObservers } from '../../../src/platform/observers.ts';
import { notifyObservers } from '../../../src/relay/observations.ts';
import type { RelayObserver } from '../../../src/relay/observations.ts';
import type { Logger } from '../../../src/platform/logger.ts';

interface Obs {
  seen?(n: number): void;
}

describe('callObservers', () => {
  test('a throwing observer is reported and skipped; the others still hear the event; missing methods are no calls', () => {
    const heard: string[] = [];
    const failures: string[] = [];
    const observers: Obs[] = [
      { seen: (n) => void heard.push(`a${n}`) },
      { seen: () => { throw new Error('boom'); } },
      {},
      { seen: (n) => void heard.push(`d${n}`) },
    ];
    callObservers(observers, 'seen', [7], (event, err) => failures.push(`${String(event)}: ${err}`));
    expect(heard).toEqual(['a7', 'd7']);
    expect(failures).toEqual(['seen: boom']);
  });

  test('the relay logs a throwing observer as a warning and carries on', () => {
    const warnings: unknown[] = [];
    const log = { warn: (o: unknown, msg: string) => warnings.push([o, msg]) } as unknown as Logger;
    const published: string[] = [];
    const observers: RelayObserver[] = [
      { snapshotPublished: () => { throw new Error('metrics down'); } },
      { snapshotPublished: (e) => void published.push(e.node) },
    ];
    notifyObservers(observers, log, 'snapshotPublished', { node: 'gw', revision: '1', hash: 'h' });
    expect(published).toEqual(['gw']);
    expect(warnings).toEqual([[{ event: 'snapshotPublished', err: 'metrics down' }, 'a relay observer failed; ignored']]);
  });
});
