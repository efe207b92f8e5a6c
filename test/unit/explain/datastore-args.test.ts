/**
 * The datastore flags of explain, test and diff: a datastore that cannot be read is a usage error
 * that names it (exit 2 with one line), not an uncaught exception with a stack trace.
 */
import { describe, expect, test } from 'bun:test';
import { datastoreResources } from '../../../src/explain/datastore-args.ts';
import { UsageError } from '../../../src/cli/io.ts';

const io = { out: () => undefined, err: () => undefined };

describe('datastore flags', () => {
  test('a --resources path that does not exist is a usage error naming it', async () => {
    const err = await datastoreResources({ resources: ['/nonexistent-outpost-h12'] }, io as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain('/nonexistent-outpost-h12');
  });
});
