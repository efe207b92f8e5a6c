/** tests.yaml entries that are not mappings: the error says what an entry must be, not "unknown field". */
import { describe, expect, test } from 'bun:test';
import { parsePolicyTests, PolicyTestsError } from '../../../src/explain/policy-tests.ts';

const err = (text: string): string => {
  try {
    parsePolicyTests(text, 'tests.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyTestsError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('tests file entries', () => {
  test('a scalar or null entry is named as not a mapping', () => {
    for (const entry of ['foo', 'null', '42', '[1, 2]']) {
      const m = err(`tests:\n  - ${entry}\n`);
      expect(m).toContain('tests[0]');
      expect(m).toContain('must be a mapping');
      expect(m).not.toContain('unknown field');
    }
  });

  test('a stray key is still named as an unknown field', () => {
    const m = err('tests:\n  - {name: a, from: 198.18.0.1, to: 198.18.0.2, port: 22/tcp, expect: allow, color: red}\n');
    expect(m).toContain('unknown field "color"');
  });
});
