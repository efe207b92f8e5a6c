import { describe, expect, test } from 'bun:test';
import { runtimeVariables, withoutRuntimeVariables } from '../../../src/platform/runtime-env.ts';

describe('runtime variables', () => {
  const env = { PATH: '/bin', BUN_OPTIONS: '--preload x', BUN_JSC_useJIT: '0', NODE_OPTIONS: '--require y', OUTPOST_NODE: 'gw', BUNNY: 'not ours', UNSET: undefined };

  test('names every BUN_* and NODE_OPTIONS variable, and nothing else', () => {
    expect(runtimeVariables(env)).toEqual(['BUN_JSC_useJIT', 'BUN_OPTIONS', 'NODE_OPTIONS']);
    expect(runtimeVariables({ PATH: '/bin' })).toEqual([]);
  });

  test('the clean environment keeps everything else', () => {
    expect(withoutRuntimeVariables(env)).toEqual({ PATH: '/bin', OUTPOST_NODE: 'gw', BUNNY: 'not ours' });
  });
});
